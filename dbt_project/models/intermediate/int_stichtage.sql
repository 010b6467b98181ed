-- The Stichtage the warehouse reports on: every Stichtag for which the register was delivered.
select distinct stichtag
from {{ ref('stg_register__persons') }}
