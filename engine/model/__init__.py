"""The data every stage shares: errors, the fleet and schedule formats, upgrade resolution, bundled resources, the
solver layer.  Imports only the language (``dsl``)."""
