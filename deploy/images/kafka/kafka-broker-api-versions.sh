#!/bin/bash
# The tool of the same name in Kafka's distribution (it answers when the broker serves requests); the
# compose health check calls it with --bootstrap-server.
exec java -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.yaml \
  -cp '/opt/kafka/libs/*' org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
