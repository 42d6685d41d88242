{{/*
The services of `faramesh-cloud serve` and what the chart must know of each (tests/deploy
checks this against the code): the internal API's port index (config.INTERNAL_APIS), the
services whose certificates its gRPC allow-lists admit (the servicers' *CALLERS), and for a
consumer service the most partitions of a topic it consumes (events/topics.py
DEFAULT_PARTITIONS): the most group members that get any partition.
*/}}
{{- define "fc.catalogue" -}}
ingest: {}
audit-index: {index: 2, callers: [gateway, compliance], partitions: 8}
fleet: {index: 1, callers: [gateway, compliance, registry], partitions: 4}
approvals: {index: 0, callers: [ingest, gateway, compliance], partitions: 4}
notifications: {index: 3, callers: [gateway], partitions: 4}
compliance: {index: 4, callers: [gateway], partitions: 4}
registry: {index: 5, callers: [gateway], partitions: 4}
gateway: {}
forwarding: {index: 6, callers: [gateway], partitions: 8}
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
