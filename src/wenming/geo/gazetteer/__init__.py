"""The door-plate gazetteer (门牌地址库, GB/T 30428.3 地理编码): roads, door plates, named places,
Chinese address search and reverse geocoding. See docs/gazetteer.md."""
