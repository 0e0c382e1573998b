{#- Helpers of the flight-fares models (issue 17). -#}



{#- Minutes of an ISO 8601 duration as Amadeus writes it (PT5H30M, PT6H, PT45M, P1DT2H). -#}
{% macro iso8601_duration_minutes(expr) -%}
    {%- set time_part = dbt.split_part(expr, "'T'", 2) -%}
    (
        case when {{ expr }} like 'P%D%'
            then cast({{ dbt.split_part(dbt.split_part(expr, "'P'", 2), "'D'", 1) }} as integer) * 1440
            else 0 end
        + case when {{ time_part }} like '%H%'
            then cast({{ dbt.split_part(time_part, "'H'", 1) }} as integer) * 60
            else 0 end
        + case when {{ time_part }} like '%M'
            then cast({{ dbt.split_part(
                "case when " ~ time_part ~ " like '%H%' then " ~ dbt.split_part(time_part, "'H'", 2)
                ~ " else " ~ time_part ~ " end", "'M'", 1) }} as integer)
            else 0 end
    )
{%- endmacro %}


{#- The first string value of `key` in a JSON text (`"key":"value"`), or with no key the first
    string of a JSON array of strings (["UA","AF"] -> UA). Plain string functions, the same on
    every engine; the bronze job writes nested JSON as compact text (no spaces), and a space
    after the colon is tolerated. -#}
{% macro json_first_string(expr, key=none) -%}
    {%- if key is none -%}
    nullif({{ dbt.split_part(expr, "'\"'", 2) }}, '')
    {%- else -%}
    nullif({{ dbt.split_part(
        dbt.split_part("replace(" ~ expr ~ ", '\": \"', '\":\"')", "'\"" ~ key ~ "\":\"'", 2),
        "'\"'", 1) }}, '')
    {%- endif -%}
{%- endmacro %}
