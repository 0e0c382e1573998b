{#- Silver: the weather contract's fan-out targets (its cities, `source.targets.items`) as a
    relation. The contract is the one owner of the cities; nothing here restates one. -#}
{{ config(enabled=contracts_enabled(['weather'])) }}
with

contract_targets as (

    {{ contract_targets('weather') }}

),

renamed as (

    select
        ---------- ids
        id as location_id,

        ---------- dimensions
        name as city,
        timezone,

        ---------- numerics
        latitude,
        longitude

    from contract_targets

)

select * from renamed
