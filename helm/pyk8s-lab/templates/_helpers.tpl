{{/* The helpers of `helm create`, and the few names every component shares. */}}

{{- define "pyk8s-lab.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pyk8s-lab.fullname" -}}
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

{{- define "pyk8s-lab.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pyk8s-lab.labels" -}}
helm.sh/chart: {{ include "pyk8s-lab.chart" . }}
{{ include "pyk8s-lab.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pyk8s-lab
{{- end }}

{{- define "pyk8s-lab.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pyk8s-lab.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pyk8s-lab.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pyk8s-lab.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* A component's name, labels and selector labels: (dict "root" $ "component" "auth"). */}}
{{- define "pyk8s-lab.componentName" -}}
{{- printf "%s-%s" (include "pyk8s-lab.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pyk8s-lab.componentLabels" -}}
{{ include "pyk8s-lab.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "pyk8s-lab.componentSelectorLabels" -}}
{{ include "pyk8s-lab.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "pyk8s-lab.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* A component's image: the app image, or the provisioner's own build of it. */}}
{{- define "pyk8s-lab.componentImage" -}}
{{- $own := dig "image" dict (index .root.Values .component) }}
{{- if and (eq .component "provisioner") $own.repository }}
{{- printf "%s:%s" $own.repository (default (default .root.Chart.AppVersion .root.Values.image.tag) $own.tag) }}
{{- else }}
{{- include "pyk8s-lab.image" .root }}
{{- end }}
{{- end }}

{{/* The services that own a database, and every component that connects to NATS. */}}
{{- define "pyk8s-lab.services" -}}
auth teams provisioner terminal
{{- end }}

{{- define "pyk8s-lab.natsCredentialsSecret" -}}
{{- default (printf "%s-nats-credentials" (include "pyk8s-lab.fullname" .)) .Values.nats.credentials.existingSecret }}
{{- end }}

{{- define "pyk8s-lab.natsTlsSecret" -}}
{{- if .Values.nats.bundled }}
{{- default (printf "%s-nats-tls" (include "pyk8s-lab.fullname" .)) .Values.nats.tls.existingSecret }}
{{- else }}
{{- .Values.nats.tls.caSecret }}
{{- end }}
{{- end }}

{{/* One URL, or for a cluster every server's separated by commas (`*_NATS_URL`). */}}
{{- define "pyk8s-lab.natsUrl" -}}
{{- if .Values.nats.bundled }}
{{- printf "%s://%s-nats:4222" (ternary "tls" "nats" .Values.nats.tls.enabled) (include "pyk8s-lab.fullname" .) }}
{{- else }}
{{- required "nats.url is required when nats.bundled is false" .Values.nats.url }}
{{- end }}
{{- end }}

{{/* `*_NATS_STREAM_REPLICAS`: the bundled single server cannot hold more than one replica. */}}
{{- define "pyk8s-lab.natsStreamReplicas" -}}
{{- $replicas := int .Values.nats.streamReplicas }}
{{- if and .Values.nats.bundled (gt $replicas 1) }}
{{- fail "nats.streamReplicas above 1 needs a NATS cluster: set nats.bundled=false and nats.url" }}
{{- end }}
{{- $replicas }}
{{- end }}

{{/* The Secret and key holding a service's database URL: (dict "root" $ "component" "auth"). */}}
{{- define "pyk8s-lab.databaseSecretRef" -}}
{{- if .root.Values.postgresql.bundled }}
name: {{ include "pyk8s-lab.fullname" .root }}-postgresql
key: {{ .component }}-url
{{- else }}
{{- $ref := index .root.Values.postgresql.external .component }}
name: {{ required (printf "postgresql.external.%s.existingSecret is required when postgresql.bundled is false" .component) $ref.existingSecret }}
key: {{ $ref.key }}
{{- end }}
{{- end }}

{{- define "pyk8s-lab.kubeconfigKeySecret" -}}
{{- default (printf "%s-provisioner" (include "pyk8s-lab.fullname" .)) .Values.provisioner.kubeconfigKey.existingSecret }}
{{- end }}

{{/* The value of an existing Secret's key, so that generated secrets survive upgrades. */}}
{{- define "pyk8s-lab.keptSecretValue" -}}
{{- $secret := lookup "v1" "Secret" .root.Release.Namespace .name }}
{{- if and $secret $secret.data (hasKey $secret.data .key) }}
{{- index $secret.data .key }}
{{- end }}
{{- end }}

{{/* pyk8s_contracts.identities.ALL_IDENTITIES (tests/deploy/test_helm.py keeps them equal). */}}
{{- define "pyk8s-lab.natsIdentities" -}}
auth teams provisioner terminal gateway events
{{- end }}

{{/* An egress rule to the bundled server's pods or to an external server's addresses. */}}
{{- define "pyk8s-lab.egressTo" -}}
{{- if .bundled }}
to:
  - podSelector:
      matchLabels:
        {{- include "pyk8s-lab.componentSelectorLabels" (dict "root" .root "component" .component) | nindent 8 }}
ports:
  - protocol: TCP
    port: {{ .port }}
{{- else }}
{{- with .external.cidrs }}
to:
  {{- range . }}
  - ipBlock:
      cidr: {{ . }}
  {{- end }}
{{- end }}
ports:
  - protocol: TCP
    port: {{ .external.port }}
{{- end }}
{{- end }}
