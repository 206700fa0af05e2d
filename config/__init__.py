"""Settings and logging: one typed settings object, YAML defaults + env overrides."""

from config.settings import Settings, SettingsError, get_settings, load_settings

__all__ = ["Settings", "SettingsError", "get_settings", "load_settings"]
