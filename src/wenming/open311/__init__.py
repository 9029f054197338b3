"""Open311 GeoReport v2: the case loop's public interface for other systems."""
