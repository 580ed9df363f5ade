{{/* Names and labels shared by every object. */}}
{{- define "zwr.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "zwr.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "zwr.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "zwr.secretName" -}}
{{- default (include "zwr.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Refuse a grace period that would cut in-flight deliveries short. */}}
{{- define "zwr.checkGracePeriod" -}}
{{- $needMs := add .Values.relay.deliveryTimeoutMs .Values.relay.shutdownTimeoutMs -}}
{{- if le (mul .Values.terminationGracePeriodSeconds 1000) (int $needMs) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d s) must be above relay.deliveryTimeoutMs + relay.shutdownTimeoutMs (%d ms)" (int .Values.terminationGracePeriodSeconds) (int $needMs)) -}}
{{- end -}}
{{- end -}}

{{/* Environment of every relay container. */}}
{{- define "zwr.env" -}}
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: "8080"
- name: METRICS_PORT
  value: "9464"
- name: LOG_LEVEL
  value: {{ .Values.relay.logLevel | quote }}
- name: DELIVERY_TIMEOUT_MS
  value: {{ .Values.relay.deliveryTimeoutMs | quote }}
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ .Values.relay.shutdownTimeoutMs | quote }}
{{- with .Values.relay.recallZoomOauthAppId }}
- name: RECALL_ZOOM_OAUTH_APP_ID
  value: {{ . | quote }}
{{- end }}
- name: RECALL_REGION
  value: {{ .Values.relay.recallRegion | quote }}
{{- if .Values.redis.sentinels }}
- name: REDIS_SENTINELS
  value: {{ .Values.redis.sentinels | quote }}
- name: REDIS_SENTINEL_MASTER_NAME
  value: {{ .Values.redis.sentinelMasterName | quote }}
{{- else if .Values.redis.clusterNodes }}
- name: REDIS_CLUSTER_NODES
  value: {{ .Values.redis.clusterNodes | quote }}
{{- else if .Values.redis.existingSecretUrlKey }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "zwr.secretName" . }}
      key: {{ .Values.redis.existingSecretUrlKey }}
{{- else }}
- name: REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- end }}
- name: REDIS_MIN_REPLICAS
  value: {{ .Values.redis.minReplicas | quote }}
- name: REDIS_TLS
  value: {{ .Values.redis.tls | quote }}
{{- if .Values.appsConfig }}
- name: CONFIG_FILE
  value: /config/apps.yaml
{{- end }}
{{- if .Values.admin.enabled }}
- name: ADMIN_PORT
  value: {{ .Values.admin.port | quote }}
{{- end }}
{{- range $name, $value := .Values.relay.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The Secret's keys, optional so that one Secret serves every configuration. */}}
{{- define "zwr.envFrom" -}}
- secretRef:
    name: {{ include "zwr.secretName" . }}
{{- end -}}
