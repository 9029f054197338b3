// WGS-84 → GCJ-02, the published offset (the same formula as wenming.geo.crs), for the maps
// whose tiles are drawn in GCJ-02: shared by the hotline desk and the phone app.
(function () {
  "use strict";

  var A = 6378245.0;
  var EE = 0.006693421622965943;

  function inChina(lon, lat) {
    return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
  }

  // [lon, lat] in GCJ-02 of a WGS-84 point; points outside China are not shifted.
  function fromWgs84(lon, lat) {
    if (!inChina(lon, lat)) {
      return [lon, lat];
    }
    var x = lon - 105.0;
    var y = lat - 35.0;
    var pi = Math.PI;
    var ripple = ((20.0 * Math.sin(6.0 * x * pi) + 20.0 * Math.sin(2.0 * x * pi)) * 2.0) / 3.0;
    var north =
      -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x)) +
      ripple +
      ((20.0 * Math.sin(y * pi) + 40.0 * Math.sin((y / 3.0) * pi)) * 2.0) / 3.0 +
      ((160.0 * Math.sin((y / 12.0) * pi) + 320.0 * Math.sin((y * pi) / 30.0)) * 2.0) / 3.0;
    var east =
      300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x)) +
      ripple +
      ((20.0 * Math.sin(x * pi) + 40.0 * Math.sin((x / 3.0) * pi)) * 2.0) / 3.0 +
      ((150.0 * Math.sin((x / 12.0) * pi) + 300.0 * Math.sin((x / 30.0) * pi)) * 2.0) / 3.0;
    var phi = (lat / 180.0) * pi;
    var w = 1.0 - EE * Math.sin(phi) * Math.sin(phi);
    var meridian = (A * (1.0 - EE)) / (w * Math.sqrt(w));
    var parallel = (A / Math.sqrt(w)) * Math.cos(phi);
    return [lon + (east * 180.0) / (parallel * pi), lat + (north * 180.0) / (meridian * pi)];
  }

  window.WenmingGcj02 = { fromWgs84: fromWgs84 };
})();
