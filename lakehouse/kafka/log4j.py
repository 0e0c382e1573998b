"""Log4j 2 configuration of the project's JVMs from Kafka's jars (the broker, Kafka Connect).

One function writes every variant: a rolling file under ``${sys:kafka.logs.dir}`` for a
process that runs in the background, or standard output for one that runs in the foreground
(a container's command, whose output is its log), where each event is one ``key=value`` line as
:mod:`lakehouse.log` writes them (message and stack trace escaped onto that line).
"""

from __future__ import annotations

from collections.abc import Mapping

# The configuration dumps of every client (hundreds of lines each); the properties files have them.
QUIET = {"org.apache.kafka.common.config.AbstractConfig": "WARN"}

CONSOLE_PATTERN = (
    "ts=%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX}{UTC} level=%level{lowerCase=true} logger=%c "
    'event="%enc{%m}{JSON}"%notEmpty{ context="%enc{%X{connector.context}}{JSON}"}'
    '%notEmpty{ error="%enc{%throwable}{JSON}"}%n'
)


def log4j2_properties(
    name: str,
    *,
    log_file: str | None,
    pattern: str | None = None,
    levels: Mapping[str, str] | None = None,
) -> str:
    """Log4j 2 properties: to ``${sys:kafka.logs.dir}/<log_file>`` (rolled at 10 MB, 3 kept), or
    with ``log_file=None`` to standard output, one structured line per event; ``levels``: logger
    name -> level on top of :data:`QUIET`."""
    lines = [f"# Written by lakehouse at every start of {name}.", f"name = {name}"]
    if log_file is None:
        lines += [
            "appender.out.type = Console",
            "appender.out.name = out",
            "appender.out.target = SYSTEM_OUT",
            "appender.out.layout.type = PatternLayout",
            "appender.out.layout.alwaysWriteExceptions = false",
            f"appender.out.layout.pattern = {pattern or CONSOLE_PATTERN}",
            "rootLogger.appenderRef.out.ref = out",
        ]
    else:
        lines += [
            "appender.file.type = RollingFile",
            "appender.file.name = file",
            f"appender.file.fileName = ${{sys:kafka.logs.dir}}/{log_file}",
            f"appender.file.filePattern = ${{sys:kafka.logs.dir}}/{log_file}.%i",
            "appender.file.layout.type = PatternLayout",
            f"appender.file.layout.pattern = {pattern or '[%d] %p %m (%c)%n'}",
            "appender.file.policies.type = Policies",
            "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
            "appender.file.policies.size.size = 10MB",
            "appender.file.strategy.type = DefaultRolloverStrategy",
            "appender.file.strategy.max = 3",
            "rootLogger.appenderRef.file.ref = file",
        ]
    lines.append("rootLogger.level = INFO")
    for i, (logger, level) in enumerate({**QUIET, **(levels or {})}.items()):
        lines += [f"logger.l{i}.name = {logger}", f"logger.l{i}.level = {level}"]
    return "\n".join(lines) + "\n"
