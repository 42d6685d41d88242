{{/*
The services of `faramesh-cloud serve` and what the chart must know of each (tests/deploy
checks this against the code): the internal API's port index (config.INTERNAL_APIS), the
services whose certificates its gRPC allow-lists admit (the servicers' *CALLERS), and for a
consumer service the topics its consumer groups read (fc.partitionBound bounds its replicas
by them).
*/}}
{{- define "fc.catalogue" -}}
ingest: {}
audit-index: {index: 2, callers: [gateway, compliance], topics: [dpr.records.v1, decisions.legacy.v1, stacks.signing_keys.v1, dpr.wal_problems.v1, audit.alerts.v1, audit.retention.v1, compliance.events.v1]}
fleet: {index: 1, callers: [gateway, compliance, registry], topics: [sync.items.v1]}
approvals: {index: 0, callers: [ingest, gateway, compliance], topics: [sync.items.v1, approvals.events.v1, commands.emergency.v1, registry.events.v1]}
notifications: {index: 3, callers: [gateway], topics: [notifications.events.v1, sync.items.v1, audit.alerts.v1, notifications.alerts.v1]}
compliance: {index: 4, callers: [gateway], topics: [compliance.events.v1, approvals.events.v1, commands.emergency.v1, audit.alerts.v1, sync.items.v1]}
registry: {index: 5, callers: [gateway], topics: [registry.events.v1, sync.items.v1, approvals.events.v1]}
gateway: {}
forwarding: {index: 6, callers: [gateway], topics: [dpr.records.v1]}
billing: {index: 7, callers: [gateway], topics: [dpr.records.v1, sync.items.v1, compliance.events.v1, registry.events.v1, billing.events.v1]}
{{- end }}

{{/*
The partitions of each topic Cloud creates when the operator sets none (events/topics.py
DEFAULT_PARTITIONS; tests/deploy checks they are equal, and that values.schema.json's
kafka.partitions names exactly these topics).
*/}}
{{- define "fc.defaultPartitions" -}}
dpr.records.v1: 8
decisions.legacy.v1: 4
sync.items.v1: 4
approvals.events.v1: 4
commands.emergency.v1: 2
dpr.wal_problems.v1: 1
notifications.events.v1: 4
audit.alerts.v1: 2
audit.retention.v1: 1
stacks.signing_keys.v1: 1
notifications.alerts.v1: 1
compliance.events.v1: 2
registry.events.v1: 2
fleet.events.v1: 2
billing.events.v1: 2
deadletter.v1: 1
{{- end }}

{{/*
The most consumers of one group that get a partition, for a consumer service: the most
partitions among the topics it consumes, kafka.partitions (FARAMESH_CLOUD_KAFKA_PARTITIONS)
over the defaults. YAML {partitions: N, topic: T}; {} for a service that consumes nothing.
(dict "root" $ "name" "audit-index")
*/}}
{{- define "fc.partitionBound" -}}
{{- $known := index (include "fc.catalogue" .root | fromYaml) .name | default dict -}}
{{- $counts := merge (dict) (.root.Values.kafka.partitions | default dict) (include "fc.defaultPartitions" .root | fromYaml) -}}
{{- $bound := dict -}}
{{- range $known.topics | default list -}}
{{- $n := int (index $counts .) -}}
{{- if gt $n (int ($bound.partitions | default 0)) -}}
{{- $bound = dict "partitions" $n "topic" . -}}
{{- end -}}
{{- end -}}
{{- toYaml $bound -}}
{{- end }}

{{/* "true" when a service is deployed (services.<name>.enabled is not false): (dict "root" $ "name" "fleet") */}}
{{- define "fc.on" -}}
{{- $svc := index .root.Values.services .name -}}
{{- if and $svc (ne (toString $svc.enabled) "false") -}}true{{- end -}}
{{- end }}

{{- define "fc.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end }}

{{- define "fc.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* Selector labels of one service's pods: (dict "root" $ "name" "fleet") */}}
{{- define "fc.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "fc.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The internal API port of a service: (dict "root" $ "name" "fleet") */}}
{{- define "fc.internalPort" -}}
{{- $svc := index (include "fc.catalogue" .root | fromYaml) .name -}}
{{- add .root.Values.ports.internalBase $svc.index -}}
{{- end }}
