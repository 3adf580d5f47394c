{{/* The chart name (app.kubernetes.io/name of the API's pods). */}}
{{- define "order-food.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name: the Service, Deployment and Secret are called this ("order-food" by default). */}}
{{- define "order-food.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "order-food.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object of the release carries. */}}
{{- define "order-food.commonLabels" -}}
helm.sh/chart: {{ include "order-food.chart" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: order-food
{{- end }}

{{- define "order-food.labels" -}}
{{ include "order-food.commonLabels" . }}
app.kubernetes.io/name: {{ include "order-food.name" . }}
{{- end }}

{{/* Only the API's pods carry app.kubernetes.io/name=order-food (kubectl -l finds them alone). */}}
{{- define "order-food.selectorLabels" -}}
app.kubernetes.io/name: {{ include "order-food.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "order-food.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "order-food.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "order-food.secretName" -}}
{{- default (include "order-food.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{- define "order-food.postgresqlName" -}}
{{- printf "%s-postgresql" (include "order-food.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's tag: image.tag, else the chart's appVersion. The three images are built and tagged
together, so this one value sets all three; an init container's own image.tag overrides it.
*/}}
{{- define "order-food.serviceVersion" -}}
{{- default .Chart.AppVersion (.Values.image.tag | toString) }}
{{- end }}

{{/* image: repository:tag, the tag defaulting to the release's tag. */}}
{{- define "order-food.image" -}}
{{- $root := index . 0 }}
{{- $image := index . 1 }}
{{- printf "%s:%s" $image.repository (default (include "order-food.serviceVersion" $root) ($image.tag | toString)) }}
{{- end }}

{{/* Whether the Prometheus Operator objects are made: monitoring.enabled true, or "auto" and the API exists. */}}
{{- define "order-food.monitoring" -}}
{{- $enabled := .Values.monitoring.enabled | toString }}
{{- if or (eq $enabled "true") (and (eq $enabled "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")) }}true{{- end }}
{{- end }}

{{/*
Environment every container of the pod shares. Arguments: list root serviceName sampler samplerArg.
A name the container's own env list (initContainers.*.env, env) sets is left out here, so the
list's entry is the only one, not a duplicate the API server warns about. A JAEGER_ENDPOINT there
(the seed writes one for each init container) also leaves out OTEL_EXPORTER_OTLP_ENDPOINT, which
would win over it.
*/}}
{{- define "order-food.commonEnv" -}}
{{- $root := index . 0 }}
{{- $own := dict "database-migration" $root.Values.initContainers.databaseMigration.env "database-load" $root.Values.initContainers.databaseLoad.env "order-food" $root.Values.env }}
{{- $skip := list }}
{{- range (get $own (index . 1) | default list) }}
{{- $skip = append $skip .name }}
{{- if eq .name "JAEGER_ENDPOINT" }}{{ $skip = append $skip "OTEL_EXPORTER_OTLP_ENDPOINT" }}{{ end }}
{{- end }}
{{- $entries := list }}
{{- range (include "order-food.chartEnv" . | fromYamlArray) }}
{{- if not (has .name $skip) }}{{ $entries = append $entries . }}{{ end }}
{{- end }}
{{- toYaml $entries }}
{{- end }}

{{/* The chart's own entries of commonEnv (same arguments). */}}
{{- define "order-food.chartEnv" -}}
{{- $root := index . 0 }}
{{- $service := index . 1 }}
{{- $sampler := index . 2 }}
{{- $samplerArg := index . 3 -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "order-food.secretName" $root }}
      key: {{ $root.Values.secret.databaseUrlKey }}
- name: DB_WAIT_TIMEOUT
  value: {{ $root.Values.database.waitTimeoutSeconds | toString | quote }}
- name: ENVIRONMENT
  value: {{ $root.Values.environment | quote }}
- name: SERVICE_VERSION
  value: {{ include "order-food.serviceVersion" $root | quote }}
- name: LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: POD_UID
  valueFrom:
    fieldRef:
      fieldPath: metadata.uid
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_SERVICE_NAME
  value: {{ $service | quote }}
{{- if $root.Values.telemetry.enabled }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $root.Values.telemetry.otlpEndpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $root.Values.telemetry.otlpProtocol | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $samplerArg | toString | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "k8s.pod.name=$(POD_NAME),k8s.pod.uid=$(POD_UID),k8s.namespace.name=$(POD_NAMESPACE),k8s.container.name={{ $service }}"
{{- else }}
- name: OTEL_SDK_DISABLED
  value: "true"
{{- end }}
{{- end }}

{{/* The restricted container securityContext and the /tmp mount every container gets. */}}
{{- define "order-food.containerSecurity" -}}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end }}

{{/* DATABASE_DIRECT_URL from the Secret, for the init containers, when one is configured. */}}
{{- define "order-food.directUrlEnv" -}}
{{- if or .Values.database.directUrl .Values.database.directUrlKey }}
- name: DATABASE_DIRECT_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "order-food.secretName" . }}
      key: {{ .Values.database.directUrlKey | default "DATABASE_DIRECT_URL" }}
{{- end }}
{{- end }}

{{/*
Connections the release may hold on PostgreSQL at once (docs/SCALING.md): every replica (the
autoscaler's maximum when enabled) with its pool and its notification connection, unless they go
through a pooler, plus two for the init containers of every pod starting together.
*/}}
{{- define "order-food.connectionBudget" -}}
{{- $replicas := int .Values.replicaCount -}}
{{- if .Values.autoscaling.enabled }}{{ $replicas = int .Values.autoscaling.maxReplicas }}{{ end -}}
{{- $api := mul $replicas (add (int .Values.database.poolSize) 1) -}}
{{- if .Values.database.pooled }}{{ $api = 0 }}{{ end -}}
{{- add $api (mul $replicas 2) -}}
{{- end }}

{{/*
What database-load loads and the first admin (values databaseLoad): DATA_DIR=/data-set when a
ConfigMap or volume holds the data set, else DATA_SET; ADMIN_EMAIL and ADMIN_NAME when set. An
entry of initContainers.databaseLoad.env replaces these (DATA_DIR or DATA_SET there replaces both).
*/}}
{{- define "order-food.dataSetEnv" -}}
{{- $skip := list }}
{{- range .Values.initContainers.databaseLoad.env }}
{{- $skip = append $skip .name }}
{{- if or (eq .name "DATA_DIR") (eq .name "DATA_SET") }}{{ $skip = concat $skip (list "DATA_DIR" "DATA_SET") }}{{ end }}
{{- end }}
{{- $d := .Values.databaseLoad }}
{{- $entries := list }}
{{- if include "order-food.dataSetVolume" . }}
{{- $entries = append $entries (dict "name" "DATA_DIR" "value" "/data-set") }}
{{- else }}
{{- $entries = append $entries (dict "name" "DATA_SET" "value" $d.dataSet.bundled) }}
{{- end }}
{{- with $d.admin.email }}{{ $entries = append $entries (dict "name" "ADMIN_EMAIL" "value" .) }}{{ end }}
{{- with $d.admin.name }}{{ $entries = append $entries (dict "name" "ADMIN_NAME" "value" .) }}{{ end }}
{{- $out := list }}
{{- range $entries }}{{ if not (has .name $skip) }}{{ $out = append $out . }}{{ end }}{{ end }}
{{- if $out }}{{ toYaml $out }}{{ end }}
{{- end }}

{{/* "true" when an operator's data set is mounted into database-load (a ConfigMap or a volume). */}}
{{- define "order-food.dataSetVolume" -}}
{{- if and .Values.initContainers.databaseLoad.enabled (or .Values.databaseLoad.dataSet.configMap .Values.databaseLoad.dataSet.volume) }}true{{ end }}
{{- end }}
