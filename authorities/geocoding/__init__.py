"""Finding places: address points, streets, named places and areas by text (`geocode`), and the
nearest address or place to a point (`reverse_geocode`).

- `selectors`: the one interface, in front of the local gazetteer and the external geocoder;
- `local`: the local gazetteer's search and nearest-point look-up;
- `external`: an optional Nominatim/Photon geocoder through geopy (GEOCODER_URL);
- `services`: importing address points and places (`manage.py import_addresses`);
- `files`: reading CSV and GeoJSON gazetteer files;
- `text`: the normalised search text and the score that orders answers.
"""

from .selectors import GeocodeAnswer, Outside, geocode, reverse_geocode

__all__ = ["GeocodeAnswer", "Outside", "geocode", "reverse_geocode"]
