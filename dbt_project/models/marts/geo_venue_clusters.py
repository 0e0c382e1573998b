"""Gold: geographic clusters of public venues (Spark MLlib KMeans on the sphere), weighted by
RSVPs, the number of clusters chosen by silhouette (spark/geo_clusters.py). This model only
declares what to cluster; the k chosen and the silhouette of every k tried are columns."""


def model(dbt, session):  # noqa: ANN001, ANN201 - dbt's Python model signature
    dbt.config(materialized="table")
    from spark.geo_clusters import cluster

    points = dbt.ref("int_events__venue_points").df()
    return cluster(
        points,
        lat="venue_lat",
        lon="venue_lon",
        weight="rsvp_count",
        label="topic_name",
        k_range=(2, 8),
    )
