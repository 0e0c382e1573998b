{#- Gold: I94 ports of entry (i94prtl; not IATA codes) with the city and state their label
    names ('SAN FRANCISCO, CA'). One row per port code; a code no label names is 'UNKNOWN'. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

codes as (

    select * from {{ ref('int_immigration__code_labels') }}
    where format_name = 'i94prtl'

),

final as (

    select
        cast(code as {{ dbt.type_string() }}) as port_code,
        cast(label as {{ dbt.type_string() }}) as port_name,
        nullif(trim({{ dbt.split_part('label', "','", 1) }}), '') as city_name,
        nullif(trim({{ dbt.split_part('label', "','", 2) }}), '') as state_code,
        is_known,
        is_invalid
    from codes

)

select * from final
