{#- Gold: Modes of arrival (i94model: 1 Air, 2 Sea, 3 Land, 9 Not reported). One row per code, labelled or only seen in arrivals: a code no label
    names is kept as 'UNKNOWN' with is_known false; labels the original marks as not to be
    processed are flagged is_invalid. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

{{ code_label_dimension(ref('int_immigration__code_labels'), 'i94model', 'travel_mode_code', 'travel_mode') }}
