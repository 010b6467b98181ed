-- Which unit each Baublock belongs to at every level, nested and non-nested (Sozialräume cross
-- Stadtteil borders), with the validity period. Join on a date with the valid_at macro.
select * from {{ ref('int_block_memberships') }}
