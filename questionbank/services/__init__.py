"""All writes to domain objects go through these functions: <entity>_<action>(*, ...)."""
