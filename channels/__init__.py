"""Channel adapters: pure translations between a provider's payloads and normalised messages."""
