{{/* Chart name. */}}
{{- define "votebox.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name: the release name when it already contains the chart name ("votebox"). */}}
{{- define "votebox.fullname" -}}
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

{{- define "votebox.selectorLabels" -}}
app.kubernetes.io/name: {{ include "votebox.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "votebox.labels" -}}
{{ include "votebox.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "votebox.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "votebox.configName" -}}
{{- printf "%s-config" (include "votebox.fullname" .) }}
{{- end }}

{{- define "votebox.secretName" -}}
{{- default (printf "%s-secret" (include "votebox.fullname" .)) .Values.secret.existingSecret }}
{{- end }}

{{/*
Memory limit in MiB: memory.baseMiB + kdf.concurrency × memory.perKdfMiB, rounded up to a
multiple of 128 MiB (150 + 2 × 640 = 1430 → 1536), unless memory.limit is set.
*/}}
{{- define "votebox.memoryLimit" -}}
{{- if .Values.memory.limit }}
{{- .Values.memory.limit }}
{{- else }}
{{- $n := int .Values.kdf.concurrency }}
{{- if lt $n 1 }}{{ fail "kdf.concurrency must be at least 1" }}{{ end }}
{{- $mib := add (int .Values.memory.baseMiB) (mul $n (int .Values.memory.perKdfMiB)) }}
{{- printf "%dMi" (mul (div (add $mib 127) 128) 128) }}
{{- end }}
{{- end }}

{{/* envFrom of every votebox container: the ConfigMap and the Secret. */}}
{{- define "votebox.envFrom" -}}
- configMapRef:
    name: {{ include "votebox.configName" . }}
- secretRef:
    name: {{ include "votebox.secretName" . }}
{{- end }}

{{- define "votebox.volumeMounts" -}}
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- end }}
