//! The Etsy sandbox.

use std::sync::{Arc, Mutex};

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::common::html::Lang;
use crate::common::tokens::TokenStore;
use crate::common::{AppRegistration, Context, Sandbox, TestOrder, calls, control_router};

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    tokens: TokenStore,
}

pub struct Etsy {
    context: Context,
    app: Mutex<AppRegistration>,
    state: Mutex<State>,
}

impl Etsy {
    pub fn new(context: Context) -> Arc<Self> {
        Arc::new(Self {
            app: Mutex::new(context.app.clone()),
            context,
            state: Mutex::new(State::default()),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        let controls = self.context.controls.clone();
        Router::new().merge(control_router(self.clone())).layer(
            axum::middleware::from_fn_with_state(controls, calls::record),
        )
    }
}

impl Sandbox for Etsy {
    fn name(&self) -> (&'static str, &'static str) {
        ("etsy", "Etsy")
    }

    fn context(&self) -> &Context {
        &self.context
    }

    fn state(&self) -> serde_json::Value {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        serde_json::json!({ "tokens": state.tokens.summary(self.context.controls.clock.now()) })
    }

    fn set_limits(&self, _limits: serde_json::Value) -> Result<(), String> {
        Err("not built yet".into())
    }

    fn set_options(&self, _options: serde_json::Value) -> Result<(), String> {
        Err("not built yet".into())
    }

    fn revoke_tokens(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tokens
            .revoke_all()
    }

    fn place_test_order(&self, _order: TestOrder) -> Result<serde_json::Value, String> {
        Err("not built yet".into())
    }

    fn listings_html(&self, _lang: Lang) -> String {
        String::new()
    }

    fn register_app(&self, app: AppRegistration) {
        *self.app.lock().unwrap_or_else(|p| p.into_inner()) = app;
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(&*self.state.lock().unwrap_or_else(|p| p.into_inner()))
            .unwrap_or_default()
    }

    fn restore(&self, snapshot: serde_json::Value) -> Result<(), String> {
        let restored: State = serde_json::from_value(snapshot).map_err(|e| e.to_string())?;
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = restored;
        Ok(())
    }
}
