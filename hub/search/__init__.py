"""Staff search over what patients and staff wrote: message text, notes and voice-note transcripts."""
