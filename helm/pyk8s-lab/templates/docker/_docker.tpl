{{/*
The Docker engine the provisioner and the terminal share (docker.mode):
  host   the node's socket, mounted from the node;
  dind   a privileged Docker-in-Docker sidecar in the provisioner pod, whose socket is shared
         through a node folder with the terminal pod, scheduled onto the same node;
  remote an engine elsewhere, DOCKER_HOST over TCP with mutual TLS;
  hosts  (provisioner.hosts set) a pool of such engines, one provisioner Deployment each;
         the terminal reaches every one of them with that host's certificates.
*/}}

{{/* docker.mode, or "hosts" when provisioner.hosts lists a pool of engines. */}}
{{- define "pyk8s-lab.dockerMode" -}}
{{- if .Values.provisioner.hosts }}hosts{{ else }}{{ .Values.docker.mode }}{{ end }}
{{- end }}

{{/* Where the client certificates of remote engines are mounted (the terminal's hold one
     folder per host, named after its id, and the first host's pair at the top). */}}
{{- define "pyk8s-lab.dockerCertPath" -}}/etc/pyk8s/docker-tls{{- end }}

{{- define "pyk8s-lab.dockerSocket" -}}
{{- if eq .Values.docker.mode "host" }}/var/run/docker.sock{{ else }}/run/pyk8s-dind/docker.sock{{ end }}
{{- end }}

{{- define "pyk8s-lab.dockerEnv" -}}
{{- $docker := .root.Values.docker }}
{{- $mode := include "pyk8s-lab.dockerMode" .root }}
{{- if and (eq $mode "hosts") .host }}
- name: PROVISIONER_HOST_ID
  value: {{ .host.id | quote }}
- name: DOCKER_HOST
  value: {{ .host.dockerHost | quote }}
- name: DOCKER_TLS_VERIFY
  value: "1"
- name: DOCKER_CERT_PATH
  value: {{ include "pyk8s-lab.dockerCertPath" . }}
{{- with .host.maxClusters }}
- name: PROVISIONER_HOST_MAX_CLUSTERS
  value: {{ . | quote }}
{{- end }}
{{- with .host.memoryMB }}
- name: PROVISIONER_HOST_MEMORY_MB
  value: {{ . | quote }}
{{- end }}
{{- with .host.address }}
- name: PROVISIONER_HOST_ADDRESS
  value: {{ . | quote }}
{{- end }}
{{- else if eq $mode "hosts" }}
{{- /* Sessions follow each cluster's host; this engine is the one readiness pings. */}}
- name: TERMINAL_DOCKER_HOST
  value: {{ (first .root.Values.provisioner.hosts).dockerHost | quote }}
- name: TERMINAL_DOCKER_CERT_PATH
  value: {{ include "pyk8s-lab.dockerCertPath" . }}
{{- else if eq $docker.mode "remote" }}
{{- $host := required "docker.remote.host is required with docker.mode remote" $docker.remote.host }}
{{- if eq .component "provisioner" }}
- name: DOCKER_HOST
  value: {{ $host | quote }}
- name: DOCKER_TLS_VERIFY
  value: "1"
- name: DOCKER_CERT_PATH
  value: /etc/pyk8s/docker-tls
{{- else }}
- name: TERMINAL_DOCKER_HOST
  value: {{ $host | quote }}
- name: TERMINAL_DOCKER_CERT_PATH
  value: /etc/pyk8s/docker-tls
{{- end }}
{{- else if eq .component "provisioner" }}
- name: DOCKER_HOST
  value: unix://{{ include "pyk8s-lab.dockerSocket" .root }}
{{- else }}
- name: TERMINAL_DOCKER_SOCKET
  value: {{ include "pyk8s-lab.dockerSocket" .root }}
{{- end }}
{{- end }}

{{- define "pyk8s-lab.dockerMounts" -}}
{{- $mode := include "pyk8s-lab.dockerMode" . }}
{{- if eq $mode "host" }}
- name: docker-socket
  mountPath: /var/run/docker.sock
{{- else if eq $mode "dind" }}
- name: docker-socket
  mountPath: /run/pyk8s-dind
{{- else }}
- name: docker-tls
  mountPath: /etc/pyk8s/docker-tls
  readOnly: true
{{- end }}
{{- end }}

{{- define "pyk8s-lab.dockerVolumes" -}}
{{- $docker := .root.Values.docker }}
{{- $mode := include "pyk8s-lab.dockerMode" .root }}
{{- if and (eq $mode "hosts") .host }}
- name: docker-tls
  secret:
    secretName: {{ .host.tlsSecret }}
    defaultMode: 0440
{{- else if eq $mode "hosts" }}
- name: docker-tls
  projected:
    defaultMode: 0440
    sources:
      {{- $files := list "ca.pem" "cert.pem" "key.pem" }}
      - secret:
          name: {{ (first .root.Values.provisioner.hosts).tlsSecret }}
          items:
            {{- range $files }}
            - {key: {{ . }}, path: {{ . }}}
            {{- end }}
      {{- range .root.Values.provisioner.hosts }}
      {{- $host := . }}
      - secret:
          name: {{ .tlsSecret }}
          items:
            {{- range $files }}
            - {key: {{ . }}, path: {{ $host.id }}/{{ . }}}
            {{- end }}
      {{- end }}
{{- else if eq $docker.mode "host" }}
- name: docker-socket
  hostPath:
    path: {{ $docker.host.socketPath }}
    type: Socket
{{- else if eq $docker.mode "dind" }}
- name: docker-socket
  hostPath:
    path: {{ $docker.dind.socketDir }}
    type: DirectoryOrCreate
{{- if eq .component "provisioner" }}
- name: docker-data
  emptyDir: {}
{{- end }}
{{- else }}
- name: docker-tls
  secret:
    secretName: {{ required "docker.remote.tlsSecret is required with docker.mode remote" $docker.remote.tlsSecret }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{/* dockerd gives its socket to the components' group, so they need no root. */}}
{{- define "pyk8s-lab.dindContainer" -}}
{{- $dind := .Values.docker.dind }}
- name: dind
  image: {{ printf "%s:%s" $dind.image.repository $dind.image.tag }}
  imagePullPolicy: {{ $dind.image.pullPolicy }}
  args:
    - --host=unix:///run/pyk8s-dind/docker.sock
    - --group={{ .Values.podSecurityContext.runAsGroup }}
  env:
    # The engine listens only on its socket: no TCP port, so no certificates to make.
    - name: DOCKER_TLS_CERTDIR
      value: ""
  securityContext:
    privileged: true
    runAsNonRoot: false
    runAsUser: 0
  resources:
    {{- toYaml $dind.resources | nindent 4 }}
  volumeMounts:
    - name: docker-socket
      mountPath: /run/pyk8s-dind
    - name: docker-data
      mountPath: /var/lib/docker
{{- end }}

{{/* The terminal execs into the nodes of clusters the provisioner's engine runs: same node. */}}
{{- define "pyk8s-lab.besideProvisioner" -}}
podAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "pyk8s-lab.componentSelectorLabels" (dict "root" . "component" "provisioner") | nindent 10 }}
{{- end }}

{{/* What the engine needs beyond NATS and PostgreSQL: dind pulls images from registries over
     HTTPS; a remote engine listens on 2376. */}}
{{- define "pyk8s-lab.dockerEgress" -}}
{{- $mode := include "pyk8s-lab.dockerMode" .root }}
{{- if and (eq $mode "dind") (eq .component "provisioner") }}
- ports:
    - protocol: TCP
      port: 443
    - protocol: TCP
      port: 80
{{- else if eq $mode "remote" }}
- ports:
    - protocol: TCP
      port: 2376
{{- else if eq $mode "hosts" }}
{{- $ports := list }}
{{- range .root.Values.provisioner.hosts }}
{{- $ports = append $ports (default "2376" (regexFind "[0-9]+$" (urlParse .dockerHost).host)) }}
{{- end }}
- ports:
    {{- range uniq $ports }}
    - protocol: TCP
      port: {{ int . }}
    {{- end }}
{{- else }}
[]
{{- end }}
{{- end }}
