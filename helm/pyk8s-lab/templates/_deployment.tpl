{{/*
The one Deployment every component runs: (dict "root" $ "component" "auth"); with
"host" (an entry of provisioner.hosts), the provisioner Deployment of that Docker host.
Each process reads only its own nkey seed, probes /health/live and /health/ready on its health
port (the gateway on its HTTP port) and writes only to an emptyDir /tmp.
*/}}
{{- define "pyk8s-lab.deployment" -}}
{{- $root := .root }}
{{- $c := .component }}
{{- $v := index $root.Values $c }}
{{- $prefix := upper $c }}
{{- $docker := $root.Values.docker }}
{{- $mode := include "pyk8s-lab.dockerMode" $root }}
{{- $host := .host }}
{{- $usesDocker := has $c (list "provisioner" "terminal") }}
{{- $port := ternary $v.port $v.healthPort (eq $c "gateway") }}
{{- $portName := ternary "http" "health" (eq $c "gateway") }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "pyk8s-lab.componentName" . }}{{ with $host }}-{{ .id }}{{ end }}
  labels:
    {{- include "pyk8s-lab.componentLabels" . | nindent 4 }}
    {{- with $host }}
    pyk8s-lab.io/docker-host: {{ .id }}
    {{- end }}
spec:
  {{- if $host }}
  replicas: {{ default $v.replicaCount $host.replicaCount }}
  {{- else if not $v.autoscaling.enabled }}
  replicas: {{ $v.replicaCount }}
  {{- end }}
  {{- if and $usesDocker (has $mode (list "host" "dind")) }}
  # The engine is node-local: a new pod replaces the old one instead of running beside it.
  strategy:
    type: Recreate
  {{- end }}
  selector:
    matchLabels:
      {{- include "pyk8s-lab.componentSelectorLabels" . | nindent 6 }}
      {{- with $host }}
      pyk8s-lab.io/docker-host: {{ .id }}
      {{- end }}
  template:
    metadata:
      {{- with $root.Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      labels:
        {{- include "pyk8s-lab.componentLabels" . | nindent 8 }}
        {{- with $host }}
        pyk8s-lab.io/docker-host: {{ .id }}
        {{- end }}
        {{- with $root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "pyk8s-lab.serviceAccountName" $root }}
      automountServiceAccountToken: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- $pod := deepCopy $root.Values.podSecurityContext }}
        {{- if and $usesDocker (eq $mode "host") $docker.host.socketGroup }}
        {{- $_ := set $pod "supplementalGroups" (list $docker.host.socketGroup) }}
        {{- end }}
        {{- toYaml $pod | nindent 8 }}
      {{- if eq $c "gateway" }}
      terminationGracePeriodSeconds: 30
      {{- end }}
      containers:
        - name: {{ $c }}
          image: {{ include "pyk8s-lab.componentImage" . }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["python", "-m", "pyk8s_{{ $c }}"]
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          ports:
            - name: {{ $portName }}
              containerPort: {{ $port }}
              protocol: TCP
          env:
            - name: {{ $prefix }}_ENVIRONMENT
              value: {{ $root.Values.environment | quote }}
            - name: {{ $prefix }}_LOG_LEVEL
              value: {{ $root.Values.logLevel | quote }}
            - name: {{ $prefix }}_NATS_URL
              value: {{ include "pyk8s-lab.natsUrl" $root | quote }}
            - name: {{ $prefix }}_NATS_CREDENTIALS
              value: /etc/pyk8s/nats/{{ $c }}.nk
            - name: {{ $prefix }}_NATS_STREAM_REPLICAS
              value: {{ include "pyk8s-lab.natsStreamReplicas" $root | quote }}
            {{- if $root.Values.nats.tls.enabled }}
            - name: {{ $prefix }}_NATS_TLS_CA
              value: /etc/pyk8s/nats-ca/ca.crt
            {{- end }}
            {{- if eq $c "gateway" }}
            - name: GATEWAY_HOST
              value: "0.0.0.0"
            - name: GATEWAY_PORT
              value: {{ $port | quote }}
            - name: GATEWAY_TRUSTED_PROXY_HOPS
              value: {{ $v.trustedProxyHops | quote }}
            {{- $origins := $v.publicOrigins }}
            {{- if and (not $origins) $root.Values.ingress.enabled }}
            {{- $tlsHosts := list }}
            {{- range $root.Values.ingress.tls }}{{ $tlsHosts = concat $tlsHosts .hosts }}{{ end }}
            {{- range $root.Values.ingress.hosts }}
            {{- $origins = append $origins (printf "%s://%s" (ternary "https" "http" (has .host $tlsHosts)) .host) }}
            {{- end }}
            {{- end }}
            {{- if $origins }}
            - name: GATEWAY_PUBLIC_ORIGINS
              value: {{ toJson $origins | quote }}
            {{- end }}
            {{- else }}
            - name: {{ $prefix }}_HEALTH_HOST
              value: "0.0.0.0"
            - name: {{ $prefix }}_HEALTH_PORT
              value: {{ $port | quote }}
            - name: {{ $prefix }}_DATABASE_URL
              valueFrom:
                secretKeyRef:
                  {{- include "pyk8s-lab.databaseSecretRef" . | trim | nindent 18 }}
            {{- end }}
            {{- if eq $c "provisioner" }}
            - name: PROVISIONER_KUBECONFIG_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ include "pyk8s-lab.kubeconfigKeySecret" $root }}
                  key: {{ $root.Values.provisioner.kubeconfigKey.secretKey }}
            # kind and k3d keep their state under $HOME; the root filesystem is read-only.
            - name: HOME
              value: /tmp
            {{- end }}
            {{- if $usesDocker }}
            {{- include "pyk8s-lab.dockerEnv" (dict "root" $root "component" $c "host" $host) | trim | nindent 12 }}
            {{- end }}
            {{- range $name, $value := $v.env }}
            - name: {{ $name }}
              value: {{ $value | quote }}
            {{- end }}
          livenessProbe:
            httpGet:
              path: /health/live
              port: {{ $portName }}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /health/ready
              port: {{ $portName }}
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: nats-credentials
              mountPath: /etc/pyk8s/nats
              readOnly: true
            {{- if $root.Values.nats.tls.enabled }}
            - name: nats-ca
              mountPath: /etc/pyk8s/nats-ca
              readOnly: true
            {{- end }}
            {{- if $usesDocker }}
            {{- include "pyk8s-lab.dockerMounts" $root | trim | nindent 12 }}
            {{- end }}
        {{- if and (eq $c "provisioner") (eq $mode "dind") }}
        {{- include "pyk8s-lab.dindContainer" $root | trim | nindent 8 }}
        {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        - name: nats-credentials
          secret:
            secretName: {{ include "pyk8s-lab.natsCredentialsSecret" $root }}
            defaultMode: 0440
            items:
              - key: {{ $c }}.nk
                path: {{ $c }}.nk
        {{- if $root.Values.nats.tls.enabled }}
        - name: nats-ca
          secret:
            secretName: {{ required "nats.tls.caSecret is required for an external NATS with TLS" (include "pyk8s-lab.natsTlsSecret" $root) }}
            items:
              - key: ca.crt
                path: ca.crt
        {{- end }}
        {{- if $usesDocker }}
        {{- include "pyk8s-lab.dockerVolumes" (dict "root" $root "component" $c "host" $host) | trim | nindent 8 }}
        {{- end }}
      {{- $affinity := $root.Values.affinity }}
      {{- if and (eq $c "terminal") (has $mode (list "host" "dind")) }}
      {{- $affinity = include "pyk8s-lab.besideProvisioner" $root | fromYaml }}
      {{- end }}
      {{- with $affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/* A component's PodDisruptionBudget and optional HorizontalPodAutoscaler. */}}
{{- define "pyk8s-lab.availability" -}}
{{- $v := index .root.Values .component }}
{{- /* Per-host provisioner Deployments have their replicas each (provisioner.hosts). */}}
{{- $scaled := and $v.autoscaling.enabled (not (and (eq .component "provisioner") .root.Values.provisioner.hosts)) }}
{{- if $v.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "pyk8s-lab.componentName" . }}
  labels:
    {{- include "pyk8s-lab.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ $v.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "pyk8s-lab.componentSelectorLabels" . | nindent 6 }}
{{- end }}
{{- if $scaled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "pyk8s-lab.componentName" . }}
  labels:
    {{- include "pyk8s-lab.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "pyk8s-lab.componentName" . }}
  minReplicas: {{ $v.autoscaling.minReplicas }}
  maxReplicas: {{ $v.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $v.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end }}
