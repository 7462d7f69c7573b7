{{- define "case-service.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "case-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "case-service.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "api"). */}}
{{- define "case-service.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "case-service.labels" -}}
{{ include "case-service.selector" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "case-service.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{/*
What every pod of the chart shares: security, /tmp, scheduling. Takes
(dict "root" $ "hook" bool): a hook's pod runs before the chart's
ServiceAccount exists, so it keeps the namespace's default one.
*/}}
{{- define "case-service.podSpec" -}}
{{- $v := .root.Values -}}
{{- if not .hook }}
serviceAccountName: {{ include "case-service.serviceAccountName" .root }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir: { sizeLimit: 64Mi }
{{- end -}}

{{/*
A container's image, security, config and secret. Takes (dict "root" $
"hook" bool): a hook runs before the chart's ConfigMap exists, so it gets
the settings as env entries instead.
*/}}
{{- define "case-service.containerBase" -}}
{{- $v := .root.Values -}}
image: {{ include "case-service.image" .root }}
imagePullPolicy: {{ $v.image.pullPolicy }}
securityContext:
  {{- toYaml $v.containerSecurityContext | nindent 2 }}
{{- if .hook }}
env:
  {{- range $key, $value := $v.config }}
  - name: {{ $key }}
    value: {{ $value | quote }}
  {{- end }}
{{- end }}
envFrom:
  {{- if not .hook }}
  - configMapRef: { name: {{ include "case-service.fullname" .root }} }
  {{- end }}
  - secretRef: { name: {{ required "secretName names the Secret with DATABASE_URL and CASE_CODEC_KEYS" $v.secretName }} }
volumeMounts:
  - { name: tmp, mountPath: /tmp }
{{- end -}}
