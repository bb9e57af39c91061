{{/* The four APIs; the console is handled beside them. */}}
{{- define "rescue.apis" -}}
eligibility prediction randomization followup
{{- end }}

{{/* <release>-<component>: Deployment, Service, PDB, HPA and NetworkPolicy names. */}}
{{- define "rescue.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "rescue.selectorLabels" -}}
app.kubernetes.io/name: rescue
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "rescue.labels" -}}
{{ include "rescue.selectorLabels" . }}
app.kubernetes.io/part-of: rescue
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}

{{- define "rescue.image" -}}
{{- printf "%s/rescue-%s:%s" .root.Values.image.registry .name (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end }}

{{/* The image's user (deploy/Dockerfile: USER 10001:10001); no privilege, no writable root. */}}
{{- define "rescue.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "rescue.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{/* The one writable place: matplotlib and tempfile write under /tmp. */}}
{{- define "rescue.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}

{{- define "rescue.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "rescue.podPlacement" -}}
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
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
automountServiceAccountToken: false
{{- end }}

{{- define "rescue.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "%s.existingSecret is required (the Secret holding %s)" .path .env) .ref.existingSecret }}
      key: {{ .ref.key | default .env }}
{{- end }}

{{/* Settings of an API (rescue_shared.settings.ServiceSettings and the service's own). */}}
{{- define "rescue.apiEnv" -}}
{{- $v := .root.Values -}}
{{- $c := index $v .name -}}
- name: HOST
  value: 0.0.0.0
- name: PORT
  value: {{ $c.port | quote }}
{{ include "rescue.secretEnv" (dict "env" "DATABASE_URL" "ref" $c.database "path" (printf "%s.database" .name)) }}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ required "kafka.bootstrapServers is required" $v.kafka.bootstrapServers | quote }}
{{- with $v.kafka.topicNamespace }}
- name: KAFKA_TOPIC_NAMESPACE
  value: {{ . | quote }}
{{- end }}
- name: KAFKA_TOPIC_PARTITIONS
  value: {{ $v.kafka.topicPartitions | quote }}
- name: KAFKA_REPLICATION_FACTOR
  value: {{ $v.kafka.replicationFactor | quote }}
- name: JWT_ALGORITHM
  value: {{ $v.auth.algorithm | quote }}
{{- if eq $v.auth.algorithm "HS256" }}
{{ include "rescue.secretEnv" (dict "env" "JWT_SECRET" "ref" $v.auth.jwtSecret "path" "auth.jwtSecret") }}
{{- else if $v.auth.jwksUrl }}
- name: JWT_JWKS_URL
  value: {{ $v.auth.jwksUrl | quote }}
{{- else }}
{{ include "rescue.secretEnv" (dict "env" "JWT_PUBLIC_KEY" "ref" $v.auth.publicKey "path" "auth.publicKey (or auth.jwksUrl)") }}
{{- end }}
{{- with $v.auth.issuer }}
- name: JWT_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- with $v.auth.audience }}
- name: JWT_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- with $v.trialTimezone }}
- name: TRIAL_TIMEZONE
  value: {{ . | quote }}
{{- end }}
- name: LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: MIGRATE_ON_START
  value: {{ (not $v.migrations.job) | quote }}
{{- range $key, $value := $c.extraEnv }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}

{{/* Settings of the console (rescue_console.settings.ConsoleSettings). */}}
{{- define "rescue.consoleEnv" -}}
{{- $root := .root -}}
{{- $v := .root.Values -}}
{{- $c := $v.console -}}
- name: HOST
  value: 0.0.0.0
- name: PORT
  value: {{ $c.port | quote }}
{{- range $api := splitList " " (include "rescue.apis" $root) }}
- name: {{ upper $api }}_URL
  value: {{ printf "http://%s:%v" (include "rescue.fullname" (dict "root" $root "name" $api)) (index $v $api).port | quote }}
{{- end }}
{{- /* Production sign-in goes through the identity provider; the local one is for laptops. */}}
- name: DEV_SIGN_IN
  value: "false"
- name: COOKIE_SECURE
  value: "true"
- name: OIDC_ISSUER
  value: {{ required "console.oidc.issuer is required (the console signs users in through the identity provider)" $c.oidc.issuer | quote }}
- name: OIDC_CLIENT_ID
  value: {{ required "console.oidc.clientId is required" $c.oidc.clientId | quote }}
- name: OIDC_REDIRECT_URI
  value: {{ required "console.oidc.redirectUri is required" $c.oidc.redirectUri | quote }}
{{- if $c.oidc.clientSecret.existingSecret }}
{{ include "rescue.secretEnv" (dict "env" "OIDC_CLIENT_SECRET" "ref" $c.oidc.clientSecret "path" "console.oidc.clientSecret") }}
{{- end }}
- name: LOG_LEVEL
  value: {{ $v.logLevel | quote }}
{{- range $key, $value := $c.extraEnv }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
