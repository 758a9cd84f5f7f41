"""Reports: KPIs from timeline events, kept as per-conversation facts (docs/kpis.md)."""
