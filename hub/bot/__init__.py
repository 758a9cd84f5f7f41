"""The assistant that answers first: understanding, conversation, hand-off to the right person."""
