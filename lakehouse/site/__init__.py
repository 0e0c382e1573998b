"""The site: a static website of dashboards over published gold, plus dbt docs and gate results.

``build_site`` renders ``<lake>/site/`` (a page per dashboard spec of ``dbt_project/dashboards``
whose marts are published, and the "Quality gates" page with every expectation of the last
transform's gates), ``publish_site`` uploads it to the site bucket and
``make_server`` serves it on localhost. Nothing on the site is fetched from the network at view
time: the charting library is copied into the site's own ``assets/``.
"""

from lakehouse.site.build import SiteBuild, build_site
from lakehouse.site.content import SiteContent, collect_content, format_number
from lakehouse.site.errors import SiteError
from lakehouse.site.publish import PublishResult, publish_site
from lakehouse.site.server import make_server

__all__ = [
    "PublishResult",
    "SiteBuild",
    "SiteContent",
    "SiteError",
    "build_site",
    "collect_content",
    "format_number",
    "make_server",
    "publish_site",
]
