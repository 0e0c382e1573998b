{#- Gold: US states of address (i94addrl; many codes in the data are invalid). One row per code, labelled or only seen in arrivals: a code no label
    names is kept as 'UNKNOWN' with is_known false; labels the original marks as not to be
    processed are flagged is_invalid. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

{{ code_label_dimension(ref('int_immigration__code_labels'), 'i94addrl', 'us_state_code', 'us_state_name', code_type=dbt.type_string()) }}
