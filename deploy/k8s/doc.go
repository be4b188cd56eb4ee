// Package k8s holds no code: its test renders the kustomization of this folder and checks every
// object against the Kubernetes API types and SPEC §1–§2. It is a module of its own so the
// Kubernetes libraries stay out of the services' and the root module's dependencies.
package k8s
