//! Every method the server answers, in one place: its name, the
//! generations that have it, whether a 2026-07-28 request may call it,
//! which params field `Mcp-Name` mirrors, and its place in the metrics.
//!
//! Dispatch, the metrics, the stateless checks and the lifecycle's
//! classification all match on [`Method`], so a method added here is a
//! match arm the compiler asks for in each of them, not a string to add to
//! lists kept by hand.

/// A method the server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `initialize` (2025 sessions only).
    Initialize,
    /// `ping`.
    Ping,
    /// `logging/setLevel`.
    SetLogLevel,
    /// `server/discover`.
    Discover,
    /// `tools/list`.
    ToolsList,
    /// `tools/call`.
    ToolsCall,
    /// `resources/list`.
    ResourcesList,
    /// `resources/templates/list`.
    TemplatesList,
    /// `resources/read`.
    ResourcesRead,
    /// `resources/subscribe`.
    Subscribe,
    /// `resources/unsubscribe`.
    Unsubscribe,
    /// `prompts/list`.
    PromptsList,
    /// `prompts/get`.
    PromptsGet,
    /// `completion/complete`.
    Complete,
    /// `subscriptions/listen` (2026-07-28 only).
    Listen,
    /// `tasks/get` (tasks extension).
    TasksGet,
    /// `tasks/update` (tasks extension).
    TasksUpdate,
    /// `tasks/cancel` (tasks extension).
    TasksCancel,
    /// `skills/list` (skills extension).
    SkillsList,
    /// `skills/get` (skills extension).
    SkillsGet,
    /// `resources/directory/read` (skills extension, `directoryRead`).
    DirectoryRead,
}

impl Method {
    /// Every method, in the order of [`Method::index`].
    pub const ALL: [Method; 21] = [
        Method::Initialize,
        Method::Ping,
        Method::SetLogLevel,
        Method::Discover,
        Method::ToolsList,
        Method::ToolsCall,
        Method::ResourcesList,
        Method::TemplatesList,
        Method::ResourcesRead,
        Method::Subscribe,
        Method::Unsubscribe,
        Method::PromptsList,
        Method::PromptsGet,
        Method::Complete,
        Method::Listen,
        Method::TasksGet,
        Method::TasksUpdate,
        Method::TasksCancel,
        Method::SkillsList,
        Method::SkillsGet,
        Method::DirectoryRead,
    ];

    /// The method named `name`, if the server knows it.
    pub fn parse(name: &str) -> Option<Method> {
        Some(match name {
            "initialize" => Method::Initialize,
            "ping" => Method::Ping,
            "logging/setLevel" => Method::SetLogLevel,
            "server/discover" => Method::Discover,
            "tools/list" => Method::ToolsList,
            "tools/call" => Method::ToolsCall,
            "resources/list" => Method::ResourcesList,
            "resources/templates/list" => Method::TemplatesList,
            "resources/read" => Method::ResourcesRead,
            "resources/subscribe" => Method::Subscribe,
            "resources/unsubscribe" => Method::Unsubscribe,
            "prompts/list" => Method::PromptsList,
            "prompts/get" => Method::PromptsGet,
            "completion/complete" => Method::Complete,
            "subscriptions/listen" => Method::Listen,
            "tasks/get" => Method::TasksGet,
            "tasks/update" => Method::TasksUpdate,
            "tasks/cancel" => Method::TasksCancel,
            "skills/list" => Method::SkillsList,
            "skills/get" => Method::SkillsGet,
            "resources/directory/read" => Method::DirectoryRead,
            _ => return None,
        })
    }

    /// The method's name on the wire (and its metrics label).
    pub const fn name(self) -> &'static str {
        match self {
            Method::Initialize => "initialize",
            Method::Ping => "ping",
            Method::SetLogLevel => "logging/setLevel",
            Method::Discover => "server/discover",
            Method::ToolsList => "tools/list",
            Method::ToolsCall => "tools/call",
            Method::ResourcesList => "resources/list",
            Method::TemplatesList => "resources/templates/list",
            Method::ResourcesRead => "resources/read",
            Method::Subscribe => "resources/subscribe",
            Method::Unsubscribe => "resources/unsubscribe",
            Method::PromptsList => "prompts/list",
            Method::PromptsGet => "prompts/get",
            Method::Complete => "completion/complete",
            Method::Listen => "subscriptions/listen",
            Method::TasksGet => "tasks/get",
            Method::TasksUpdate => "tasks/update",
            Method::TasksCancel => "tasks/cancel",
            Method::SkillsList => "skills/list",
            Method::SkillsGet => "skills/get",
            Method::DirectoryRead => "resources/directory/read",
        }
    }

    /// True if the handshake generation (2024-11-05 .. 2025-11-25) has it.
    pub const fn in_sessions(self) -> bool {
        !matches!(self, Method::Listen)
    }

    /// True if a 2026-07-28 (stateless) request may call it: that
    /// generation has no `initialize`, `ping`, `logging/setLevel` or
    /// resource subscriptions.
    pub const fn stateless(self) -> bool {
        !matches!(
            self,
            Method::Initialize | Method::Ping | Method::SetLogLevel | Method::Subscribe | Method::Unsubscribe
        )
    }

    /// True if a session may call it before it has negotiated a version.
    pub const fn unversioned(self) -> bool {
        matches!(self, Method::Initialize | Method::Ping | Method::Discover)
    }

    /// The params field whose value a 2026-07-28 request's `Mcp-Name`
    /// header mirrors, if any.
    pub const fn named_field(self) -> Option<&'static str> {
        match self {
            Method::ToolsCall | Method::PromptsGet => Some("name"),
            Method::ResourcesRead => Some("uri"),
            Method::TasksGet | Method::TasksUpdate | Method::TasksCancel => Some("taskId"),
            _ => None,
        }
    }

    /// Its place in [`Method::ALL`] (the metrics' tables).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// True if it runs a handler of the user's (its latency is timed).
    pub const fn runs_handler(self) -> bool {
        matches!(
            self,
            Method::ToolsCall | Method::ResourcesRead | Method::PromptsGet | Method::Complete
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Method;

    #[test]
    fn every_method_parses_from_its_own_name_at_its_own_index() {
        for (index, method) in Method::ALL.iter().enumerate() {
            assert_eq!(Method::parse(method.name()), Some(*method));
            assert_eq!(method.index(), index);
        }
        assert_eq!(Method::parse("tools/other"), None);
        assert_eq!(Method::parse("Tools/List"), None);
    }

    #[test]
    fn each_generation_has_what_the_specification_gives_it() {
        let stateless: Vec<&str> = Method::ALL
            .iter()
            .filter(|m| m.stateless())
            .map(|m| m.name())
            .collect();
        assert_eq!(
            stateless,
            [
                "server/discover",
                "tools/list",
                "tools/call",
                "resources/list",
                "resources/templates/list",
                "resources/read",
                "prompts/list",
                "prompts/get",
                "completion/complete",
                "subscriptions/listen",
                "tasks/get",
                "tasks/update",
                "tasks/cancel",
                "skills/list",
                "skills/get",
                "resources/directory/read",
            ]
        );
        assert!(!Method::Listen.in_sessions());
        assert!(Method::ALL.iter().filter(|m| !m.in_sessions()).count() == 1);
    }
}
