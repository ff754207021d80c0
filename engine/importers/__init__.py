"""Importers that build wavegate fleet JSON from Azure artefacts (ARM templates, REST / az CLI output)."""
