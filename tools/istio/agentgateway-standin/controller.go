// Package agentgateway is meshloop's stand-in for istiod's experimental
// agentgateway controller (istio.io/istio/pilot/pkg/config/kube/agentgateway).
// That package imports github.com/agentgateway/agentgateway/api, which the Go
// module proxy here does not serve, so istiod cannot be built with it.
// scripts/tools/istio.sh builds pilot-discovery from a copy of the module in
// which this file replaces that package. The controller is off by default
// (PILOT_ENABLE_AGENTGATEWAY=false) and this project does not use it; if it is
// switched on, this istiod stops at start and says why. Everything else of
// istiod is the module's own code.
package agentgateway

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/serviceregistry/kube/controller"
	"istio.io/istio/pilot/pkg/status"
	"istio.io/istio/pilot/pkg/xds"
	"istio.io/istio/pkg/kube"
)

// Controller has the methods istiod's bootstrap calls; it is never constructed.
type Controller struct {
	model.ConfigStoreController
	Registrations []xds.Registration
}

var _ model.AgentgatewayController = &Controller{}

// NewAgwController is only called when PILOT_ENABLE_AGENTGATEWAY is set.
func NewAgwController(
	_ kube.Client,
	_ func(class schema.GroupVersionResource, stop <-chan struct{}) bool,
	_ controller.Options,
) *Controller {
	panic("this istiod (meshloop's test build) has no agentgateway controller: unset PILOT_ENABLE_AGENTGATEWAY")
}

// SetStatusWrite is never reached: no Controller exists.
func (c *Controller) SetStatusWrite(bool, *status.Manager) {}

// Reconcile is never reached: no Controller exists.
func (c *Controller) Reconcile(*model.PushContext) {}
