#!/bin/bash
# Starts one Kafka node from the environment, the way apache/kafka's image does for the variables that
# docker-compose.yml sets: each KAFKA_<NAME> becomes <name> with "_" -> "." ("__" -> "_", "___" -> "-"),
# except the JVM's own KAFKA_HEAP_OPTS / KAFKA_OPTS / KAFKA_JVM_OPTS. CLUSTER_ID formats the log
# directory once; a restart with the same volume keeps the data.
set -euo pipefail
config=/opt/kafka/config/server.properties
: > "$config"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_OPTS) continue ;;
    KAFKA_*) ;;
    *) continue ;;
  esac
  key=${name#KAFKA_}
  key=${key,,}
  key=${key//___/-}
  key=${key//__/@}
  key=${key//_/.}
  key=${key//@/_}
  printf '%s=%s\n' "$key" "$value" >> "$config"
done < <(env)
: "${CLUSTER_ID:?CLUSTER_ID must be set (the KRaft cluster id, 22 characters of base64)}"
java_opts=(${KAFKA_HEAP_OPTS:--Xmx512m -Xms512m} -XX:+UseG1GC -Djava.awt.headless=true
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.yaml ${KAFKA_OPTS:-})
java "${java_opts[@]}" -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format \
  -t "$CLUSTER_ID" -c "$config" --ignore-formatted > /dev/null
exec java "${java_opts[@]}" -cp '/opt/kafka/libs/*' kafka.Kafka "$config"
