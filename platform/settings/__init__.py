"""Settings for the platform: `base` plus one module per environment (local, test, production)."""
