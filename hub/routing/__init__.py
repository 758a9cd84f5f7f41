"""Routing: hand-offs to people, team queues and hours, the urgent alert ladder, honest waits."""
