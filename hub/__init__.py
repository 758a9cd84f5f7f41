"""Puente: an omnichannel patient messaging hub."""
