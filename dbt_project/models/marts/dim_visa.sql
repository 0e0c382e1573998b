{#- Gold: Visa categories (i94visa: 1 Business, 2 Pleasure, 3 Student). One row per code, labelled or only seen in arrivals: a code no label
    names is kept as 'UNKNOWN' with is_known false; labels the original marks as not to be
    processed are flagged is_invalid. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

{{ code_label_dimension(ref('int_immigration__code_labels'), 'i94visa', 'visa_category_code', 'visa_category') }}
