{{/*
Names. The full name is cut to 48 characters so that "<fullname>-worker" and
"<fullname>-metrics" stay within Kubernetes' 63.
*/}}
{{- define "zwr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 48 | trimSuffix "-" -}}
{{- end -}}

{{- define "zwr.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 48 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 48 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 48 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "zwr.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "zwr.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: zoom-webhook-relay
{{- end -}}

{{/* Selector labels: (dict "root" $ "component" "web"|"worker"); without a component, every relay pod. */}}
{{- define "zwr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zwr.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "zwr.secretName" -}}
{{- default (include "zwr.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "zwr.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/*
Refuses values that would render a relay that cannot work. values.schema.json checks
each field; these are the rules it cannot express.
*/}}
{{- define "zwr.validate" -}}
{{- $v := .Values -}}
{{- $needMs := add (mul $v.web.preStopSleepSeconds 1000) $v.relay.deliveryTimeoutMs $v.relay.shutdownTimeoutMs -}}
{{- if le (mul $v.terminationGracePeriodSeconds 1000) $needMs -}}
{{- fail (printf "terminationGracePeriodSeconds (%d s) must be above web.preStopSleepSeconds + relay.deliveryTimeoutMs + relay.shutdownTimeoutMs (%d ms): Kubernetes would kill in-flight deliveries" (int $v.terminationGracePeriodSeconds) (int $needMs)) -}}
{{- end -}}
{{- if not (or $v.secrets.existingSecret $v.secrets.zoomWebhookSecretToken $v.appsConfig) -}}
{{- fail "no Zoom app configured: set secrets.zoomWebhookSecretToken and relay.recallZoomOauthAppId, or appsConfig, or secrets.existingSecret (holding ZOOM_WEBHOOK_SECRET_TOKEN)" -}}
{{- end -}}
{{- if and $v.secrets.zoomWebhookSecretToken (not $v.relay.recallZoomOauthAppId) -}}
{{- fail "secrets.zoomWebhookSecretToken needs relay.recallZoomOauthAppId (the id Recall returned for your Zoom OAuth App)" -}}
{{- end -}}
{{- if and $v.redis.existingSecretUrlKey (not $v.secrets.existingSecret) -}}
{{- fail "redis.existingSecretUrlKey needs secrets.existingSecret (the Secret that holds the URL)" -}}
{{- end -}}
{{- if and $v.admin.enabled (not $v.secrets.existingSecret) (lt (len $v.secrets.adminToken) 16) -}}
{{- fail "admin.enabled needs secrets.adminToken of at least 16 characters (or ADMIN_TOKEN in secrets.existingSecret)" -}}
{{- end -}}
{{- if and $v.worker.keda.enabled $v.worker.autoscaling.enabled -}}
{{- fail "enable only one of worker.autoscaling (HPA on CPU) and worker.keda (queue depth)" -}}
{{- end -}}
{{- end -}}

{{/* Environment of every relay container (the secret ones come from the Secret through envFrom). */}}
{{- define "zwr.env" -}}
{{- $v := .Values -}}
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: "8080"
- name: METRICS_PORT
  value: "9464"
- name: LOG_LEVEL
  value: {{ $v.relay.logLevel | quote }}
- name: DELIVERY_TIMEOUT_MS
  value: {{ $v.relay.deliveryTimeoutMs | int64 | quote }}
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ $v.relay.shutdownTimeoutMs | int64 | quote }}
- name: RECALL_REGION
  value: {{ $v.relay.recallRegion | quote }}
{{- with $v.relay.recallZoomOauthAppId }}
- name: RECALL_ZOOM_OAUTH_APP_ID
  value: {{ . | quote }}
{{- end }}
{{- if $v.redis.sentinels }}
- name: REDIS_SENTINELS
  value: {{ $v.redis.sentinels | quote }}
- name: REDIS_SENTINEL_MASTER_NAME
  value: {{ $v.redis.sentinelMasterName | quote }}
{{- else if $v.redis.clusterNodes }}
- name: REDIS_CLUSTER_NODES
  value: {{ $v.redis.clusterNodes | quote }}
{{- else if $v.redis.existingSecretUrlKey }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.secrets.existingSecret }}
      key: {{ $v.redis.existingSecretUrlKey }}
{{- else if $v.secrets.existingSecret }}
- name: REDIS_URL
  value: {{ $v.redis.url | quote }}
{{- end }}
{{- /* Otherwise REDIS_URL is a key of the chart's Secret (secret.yaml). */}}
{{- with $v.redis.username }}
- name: REDIS_USERNAME
  value: {{ . | quote }}
{{- end }}
- name: REDIS_TLS
  value: {{ $v.redis.tls | quote }}
{{- if gt (int $v.redis.minReplicas) 0 }}
- name: REDIS_MIN_REPLICAS
  value: {{ $v.redis.minReplicas | int64 | quote }}
{{- end }}
{{- if $v.appsConfig }}
- name: CONFIG_FILE
  value: /config/apps.yaml
{{- end }}
{{- if $v.admin.enabled }}
- name: ADMIN_PORT
  value: {{ $v.admin.port | int64 | quote }}
{{- /* The relay's default is loopback; the Service's admin port needs the pod's interface (admin.host). */}}
- name: ADMIN_HOST
  value: {{ $v.admin.host | quote }}
{{- end }}
{{- range $name, $value := $v.relay.extraEnv }}
- name: {{ $name }}
  value: {{ include "zwr.envValue" $value }}
{{- end }}
{{- end -}}

{{/*
An environment value, quoted. Helm reads numbers in values files as float64, which
would print 3600000 as 3.6e+06: whole numbers are printed as integers.
*/}}
{{- define "zwr.envValue" -}}
{{- if or (kindIs "float64" .) (kindIs "int64" .) (kindIs "int" .) -}}
{{- . | int64 | toString | quote -}}
{{- else -}}
{{- . | toString | quote -}}
{{- end -}}
{{- end -}}

{{/* One Deployment: (dict "root" $ "component" "web"|"worker"). Both run the same image; the role is the argument. */}}
{{- define "zwr.deployment" -}}
{{- $root := .root -}}
{{- $component := .component -}}
{{- $values := index $root.Values $component -}}
{{- $web := eq $component "web" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "zwr.fullname" $root }}-{{ $component }}
  labels:
    {{- include "zwr.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $component }}
spec:
  {{- if not (or $values.autoscaling.enabled (and (not $web) $root.Values.worker.keda.enabled)) }}
  replicas: {{ $values.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "zwr.selectorLabels" (dict "root" $root "component" $component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "zwr.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ $component }}
        {{- with $root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # A changed apps file or Secret rolls the pods (both are read at start-up only).
        checksum/config: {{ $root.Values.appsConfig | sha256sum }}
        checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
        {{- if and $root.Values.metrics.podAnnotations (not $root.Values.metrics.serviceMonitor.enabled) }}
        prometheus.io/scrape: "true"
        prometheus.io/port: "9464"
        prometheus.io/path: /metrics
        {{- end }}
        {{- with $root.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      # The relay never calls the Kubernetes API, and service links could clash with its variables.
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: relay
          image: {{ include "zwr.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [{{ $component | quote }}]
          env:
            {{- include "zwr.env" $root | nindent 12 }}
          envFrom:
            - secretRef:
                name: {{ include "zwr.secretName" $root }}
          ports:
            {{- if $web }}
            - name: http
              containerPort: 8080
              protocol: TCP
            {{- if $root.Values.admin.enabled }}
            - name: admin
              containerPort: {{ $root.Values.admin.port }}
              protocol: TCP
            {{- end }}
            {{- end }}
            - name: metrics
              containerPort: 9464
              protocol: TCP
          # /healthz: the process answers. /readyz: Redis reachable (and, for workers, workers running).
          livenessProbe:
            httpGet:
              path: /healthz
              port: metrics
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 6
          readinessProbe:
            httpGet:
              path: /readyz
              port: {{ ternary "http" "metrics" $web }}
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          {{- if and $web (gt (int $root.Values.web.preStopSleepSeconds) 0) }}
          lifecycle:
            preStop:
              exec:
                command: ["sleep", {{ $root.Values.web.preStopSleepSeconds | int64 | quote }}]
          {{- end }}
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if $root.Values.appsConfig }}
            - name: apps
              mountPath: /config
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- if $root.Values.appsConfig }}
        - name: apps
          configMap:
            name: {{ include "zwr.fullname" $root }}-apps
        {{- end }}
      {{- with $root.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* CPU HorizontalPodAutoscaler: (dict "root" $ "component" "web"|"worker"). */}}
{{- define "zwr.hpa" -}}
{{- $root := .root -}}
{{- $autoscaling := (index $root.Values .component).autoscaling -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "zwr.fullname" $root }}-{{ .component }}
  labels:
    {{- include "zwr.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "zwr.fullname" $root }}-{{ .component }}
  minReplicas: {{ $autoscaling.minReplicas }}
  maxReplicas: {{ $autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $autoscaling.targetCPUUtilizationPercentage }}
  {{- with $autoscaling.behavior }}
  behavior:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* PodDisruptionBudget: (dict "root" $ "component" "web"|"worker"). */}}
{{- define "zwr.pdb" -}}
{{- $root := .root -}}
{{- $pdb := (index $root.Values .component).pdb -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "zwr.fullname" $root }}-{{ .component }}
  labels:
    {{- include "zwr.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  {{- if ne (toString $pdb.minAvailable) "" }}
  minAvailable: {{ $pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ $pdb.maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "zwr.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
{{- end -}}
