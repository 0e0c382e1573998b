{#- Gold: Citizenship and residence countries of the I94 codes (i94cntyl). One row per code, labelled or only seen in arrivals: a code no label
    names is kept as 'UNKNOWN' with is_known false; labels the original marks as not to be
    processed are flagged is_invalid. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

{{ code_label_dimension(ref('int_immigration__code_labels'), 'i94cntyl', 'country_code', 'country_name') }}
