{#- Every code of a code list, labelled or only seen in arrivals: the label when the labels file
    has one, 'UNKNOWN' otherwise; is_known is false for an unlabelled code and is_invalid true
    for a label the original marks as not to be processed ('INVALID: ...', 'No Country Code',
    'NOT REPORTED/UNKNOWN'). -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

labels as (

    select * from {{ ref('stg_immigration__labels') }}

),

seen as (

    select * from {{ ref('int_immigration__codes_seen') }}

),

codes as (

    select format_name, code from labels
    union
    select format_name, code from seen

),

joined as (

    select
        codes.format_name,
        codes.code,
        coalesce(labels.label, 'UNKNOWN') as label,
        labels.code is not null as is_known,
        coalesce(
            upper(labels.label) like 'INVALID%'
            or upper(labels.label) like 'NO COUNTRY CODE%'
            or upper(labels.label) like '%NOT REPORTED/UNKNOWN%',
            false
        ) as is_invalid
    from codes
    left join labels
        on codes.format_name = labels.format_name
        and codes.code = labels.code

)

select * from joined
