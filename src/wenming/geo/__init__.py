"""Geography: boundaries, grids, inspection points, components, lookup, coordinate systems."""
