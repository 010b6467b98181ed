{#- The Baublock polygons as delivered (GeoJSON text in var('geometry_crs')), as a table: the
    release's GIS export reads it from a copy of the warehouse attached under another name, where
    a view (staging) cannot be read. Outlines of single Baublöcke are never published: the release
    dissolves them into unit polygons (orchestration/release/gis.py). -#}
select
    block_id,
    geometry_geojson
from {{ ref('stg_geo__block_polygons') }}
