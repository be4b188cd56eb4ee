// Package deploy holds no code: its tests check the deployment files of this folder —
// docker-compose.yml and the Dockerfile against SPEC §1 and the repository, the OpenAPI
// documents of openapi/ against SPEC §3, and the Postman collection of postman/ against the
// OpenAPI documents. (Each service's own openapi_test.go checks its document against its router.)
package deploy
