"""stook: harvest, validate and preserve archival records as BagIt bags."""

__version__ = "0.1.0"
AGENT_NAME = "stook"
AGENT = f"{AGENT_NAME}/{__version__}"
PROJECT_URL = "https://stook.dev"
