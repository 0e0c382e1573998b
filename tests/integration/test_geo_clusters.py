"""KMeans clusters on the sphere (spark/geo_clusters.py) with a real local Spark session.

Three groups of points: London, Tokyo and Fiji, whose points straddle the antimeridian
(179.9° and -179.9°). Clustered on latitude/longitude degrees, Fiji would split in two and
its centroid land near longitude 0; on unit vectors it stays one cluster centred on ±180°.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from lakehouse.settings import Settings
from spark.geo_clusters import COLUMNS, cluster, nearest

pytestmark = pytest.mark.slow

POINTS = pd.DataFrame(
    [{"lat": 51.5 + i * 0.01, "lon": -0.1 + i * 0.01, "w": 1 + i, "t": "python"} for i in range(5)]
    + [
        {"lat": -18.1 + i * 0.01, "lon": 179.9 if i % 2 else -179.9, "w": 2, "t": "hiking"}
        for i in range(6)
    ]
    + [{"lat": 35.6, "lon": 139.6 + i * 0.02, "w": 1, "t": "photography"} for i in range(4)]
    + [{"lat": 35.61, "lon": 139.61, "w": 1, "t": None}]
)


@pytest.fixture(scope="module")
def clusters() -> pd.DataFrame:
    from spark.session import get_session

    spark = get_session(Settings(_env_file=None), "test-geo-clusters")
    return cluster(POINTS, lat="lat", lon="lon", weight="w", label="t", k_range=(2, 6), spark=spark)


def test_the_silhouette_picks_three_clusters_and_records_every_k_tried(clusters) -> None:  # noqa: ANN001
    assert list(clusters.columns) == COLUMNS
    assert set(clusters["k"]) == {3} and len(clusters) == 3
    tried = json.loads(clusters["k_candidates"].iloc[0])
    assert sorted(tried) == ["2", "3", "4", "5", "6"]
    assert max(tried.values()) == tried["3"] == clusters["silhouette"].iloc[0]


def test_a_cluster_across_the_antimeridian_stays_whole(clusters) -> None:  # noqa: ANN001
    fiji = clusters[clusters["top_topic"] == "hiking"].iloc[0]
    assert fiji["venue_count"] == 6 and fiji["rsvp_count"] == 12
    assert abs(abs(fiji["centroid_lon"]) - 180) < 0.01
    assert abs(fiji["centroid_lat"] + 18.075) < 0.01


def test_counts_weights_and_top_topic_per_cluster(clusters) -> None:  # noqa: ANN001
    by_topic = {r["top_topic"]: r for r in clusters.to_dict("records")}
    assert by_topic["python"]["venue_count"] == 5 and by_topic["python"]["rsvp_count"] == 15
    assert by_topic["photography"]["venue_count"] == 5  # the unlabelled point counts too
    centroids = [(r["centroid_lat"], r["centroid_lon"]) for r in clusters.to_dict("records")]
    assert nearest(centroids, -18.0, -179.95) == centroids.index(
        (by_topic["hiking"]["centroid_lat"], by_topic["hiking"]["centroid_lon"])
    )


def test_too_few_points_give_no_cluster() -> None:
    assert cluster(POINTS.head(2), lat="lat", lon="lon", weight="w", label="t").empty
