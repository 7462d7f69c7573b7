{{- define "temporal.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "history"). */}}
{{- define "temporal.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "temporal.labels" -}}
{{ include "temporal.selector" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* The frontend's address inside the cluster. */}}
{{- define "temporal.frontend" -}}
{{ include "temporal.fullname" . }}-frontend:{{ .Values.services.frontend.grpcPort }}
{{- end -}}

{{/* What every pod shares: security, scheduling, no service account token. */}}
{{- define "temporal.podSpec" -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The environment config/cluster.yaml reads, for a pod of service .service:
the database, shards and log level, the pod's own address and ports, the
frontend's address. (dict "root" $ "service" "history")
*/}}
{{- define "temporal.serverEnv" -}}
{{- $v := .root.Values -}}
{{- $s := index $v.services .service -}}
{{- $upper := upper .service -}}
- name: TEMPORAL_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: TEMPORAL_HISTORY_SHARDS
  value: {{ $v.historyShards | quote }}
- name: TEMPORAL_DB
  value: {{ $v.postgres.database | quote }}
- name: TEMPORAL_VISIBILITY_DB
  value: {{ $v.postgres.visibilityDatabase | quote }}
- name: TEMPORAL_DB_ADDR
  value: "{{ $v.postgres.host }}:{{ $v.postgres.port }}"
- name: TEMPORAL_DB_USER
  value: {{ $v.postgres.user | quote }}
- name: TEMPORAL_DB_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $v.postgres.existingSecret }}, key: {{ $v.postgres.secretKey }} }
- name: TEMPORAL_DB_MAX_CONNS
  value: {{ $v.postgres.maxConns | quote }}
- name: TEMPORAL_VISIBILITY_DB_MAX_CONNS
  value: {{ $v.postgres.visibilityMaxConns | quote }}
- name: TEMPORAL_BIND_ON_IP
  value: "0.0.0.0"
- name: TEMPORAL_BROADCAST_ADDRESS
  valueFrom:
    fieldRef: { fieldPath: status.podIP }
- name: TEMPORAL_FRONTEND_ADDRESS
  value: {{ include "temporal.frontend" .root | quote }}
- name: TEMPORAL_FRONTEND_HTTP_ADDRESS
  value: "{{ include "temporal.fullname" .root }}-frontend:{{ $v.services.frontend.httpPort }}"
- name: TEMPORAL_{{ $upper }}_GRPC_PORT
  value: {{ $s.grpcPort | quote }}
- name: TEMPORAL_{{ $upper }}_MEMBERSHIP_PORT
  value: {{ $s.membershipPort | quote }}
{{- if eq .service "frontend" }}
- name: TEMPORAL_FRONTEND_HTTP_PORT
  value: {{ $s.httpPort | quote }}
{{- end }}
{{- end -}}
