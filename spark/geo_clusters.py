"""Geographic clusters of weighted points: Spark MLlib KMeans, the number chosen by silhouette.

Any table of points (latitude, longitude, a weight, a label) can be clustered; a dbt Python model
declares which (``dbt_project/models/marts/geo_venue_clusters.py``) and calls :func:`cluster`.

Points are clustered as unit vectors on the sphere, ``(cos φ cos λ, cos φ sin λ, sin φ)``, so
longitude wrap (179° and -179° are neighbours) and latitude scale (a degree of longitude shrinks
towards the poles) do not skew distances; the squared Euclidean distance of unit vectors is
``2 - 2 cos θ`` of the angle between them. KMeans weighs each point by its weight (``weightCol``),
with a fixed seed, for every ``k`` of ``k_range``; the ``k`` with the greatest silhouette
(:class:`pyspark.ml.evaluation.ClusteringEvaluator`, squared Euclidean) wins, the smaller on a
tie. A centroid is its cluster's mean vector projected back onto the sphere.

Each row of the result: ``cluster_id``, ``centroid_lat``, ``centroid_lon``, ``venue_count``
(points), ``rsvp_count`` (sum of weights), ``top_topic`` (the label with the greatest weight),
and the run's choice: ``k``, ``silhouette`` (of the chosen k) and ``k_candidates`` (JSON:
silhouette per k tried), so the criterion is recorded with the table it produced.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

SEED = 18
COLUMNS = [
    "cluster_id", "centroid_lat", "centroid_lon", "venue_count", "rsvp_count", "top_topic",
    "k", "silhouette", "k_candidates",
]  # fmt: skip


@dataclass(frozen=True)
class Choice:
    k: int
    silhouette: float
    candidates: dict[int, float]


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def to_lat_lon(x: float, y: float, z: float) -> tuple[float, float]:
    norm = math.sqrt(x * x + y * y + z * z) or 1.0
    return (math.degrees(math.asin(max(-1.0, min(1.0, z / norm)))), math.degrees(math.atan2(y, x)))


def nearest(centroids: list[tuple[float, float]], lat: float, lon: float) -> int:
    """Index of the centroid nearest to a point on the sphere (what KMeans would assign)."""
    p = unit_vector(lat, lon)
    dots = [sum(a * b for a, b in zip(p, unit_vector(*c), strict=True)) for c in centroids]
    return max(range(len(dots)), key=dots.__getitem__)


def cluster(
    points: pd.DataFrame,
    *,
    lat: str,
    lon: str,
    weight: str,
    label: str,
    k_range: tuple[int, int] = (2, 8),
    spark=None,  # noqa: ANN001 - a SparkSession; a local one is started when None
) -> pd.DataFrame:
    """Cluster ``points`` (see the module docstring); an empty frame for fewer than 3 points."""
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.evaluation import ClusteringEvaluator
    from pyspark.ml.linalg import Vectors, VectorUDT
    from pyspark.sql import types as T

    rows = points.dropna(subset=[lat, lon])
    if len(rows) < 3:
        return pd.DataFrame(columns=COLUMNS)
    if spark is None:
        from spark.session import get_session

        spark = get_session(app_name="geo-clusters")
    data = spark.createDataFrame(
        [
            (i, Vectors.dense(unit_vector(float(r[lat]), float(r[lon]))), float(r[weight] or 0))
            for i, r in enumerate(rows.to_dict("records"))
        ],
        T.StructType(
            [
                T.StructField("id", T.LongType()),
                T.StructField("features", VectorUDT()),
                T.StructField("weight", T.DoubleType()),
            ]
        ),
    ).cache()
    low, high = k_range
    high = min(high, len(rows) - 1)
    evaluator = ClusteringEvaluator(distanceMeasure="squaredEuclidean")
    candidates: dict[int, float] = {}
    models = {}
    for k in range(max(2, low), high + 1):
        model = KMeans(k=k, seed=SEED, weightCol="weight", maxIter=50).fit(data)
        candidates[k] = round(float(evaluator.evaluate(model.transform(data))), 6)
        models[k] = model
    best = max(candidates, key=lambda k: (candidates[k], -k))
    choice = Choice(best, candidates[best], candidates)
    assigned = {
        r["id"]: r["prediction"]
        for r in models[best].transform(data).select("id", "prediction").collect()
    }
    data.unpersist()
    return _summarise(rows, assigned, models[best].clusterCenters(), choice, weight, label)


def _summarise(rows, assigned, centers, choice: Choice, weight: str, label: str) -> pd.DataFrame:  # noqa: ANN001
    venues: dict[int, int] = defaultdict(int)
    weights: dict[int, float] = defaultdict(float)
    labels: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for i, r in enumerate(rows.to_dict("records")):
        c = assigned[i]
        venues[c] += 1
        weights[c] += float(r[weight] or 0)
        if r[label] is not None and r[label] == r[label]:  # not null, not NaN
            labels[c][str(r[label])] += float(r[weight] or 0)
    out = []
    for c, center in enumerate(centers):
        if not venues[c]:
            continue
        clat, clon = to_lat_lon(*[float(v) for v in center])
        # The heaviest label; the alphabetically first on a tie, so the answer is stable.
        top = min(labels[c].items(), key=lambda kv: (-kv[1], kv[0]))[0] if labels[c] else None
        out.append(
            {
                "cluster_id": c,
                "centroid_lat": round(clat, 6),
                "centroid_lon": round(clon, 6),
                "venue_count": venues[c],
                "rsvp_count": int(round(weights[c])),
                "top_topic": top,
                "k": choice.k,
                "silhouette": choice.silhouette,
                "k_candidates": json.dumps({str(k): v for k, v in choice.candidates.items()}),
            }
        )
    return pd.DataFrame(out, columns=COLUMNS)
