//! The seed's layout: `home/<room>/<thing>` is device `<thing>` in room `<room>`, and
//! `home/<room>/<thing>/set` takes its commands. A `…/temperature` or `…/temp` topic, or one
//! whose JSON has a temperature field, is a temperature sensor; `…/light`, `…/lamp`, or a
//! topic with a `…/set` sibling, is a light.

use super::DeviceKind;
use super::convention::{Convention, Place};
use super::light::{self, LightRoute, TopicProbe};

pub struct HomeLayout;

impl Convention for HomeLayout {
    fn name(&self) -> &'static str {
        "home"
    }

    fn recognise<'t>(&self, topic: &'t str) -> Option<Place<'t>> {
        let mut parts = topic.split('/');
        if parts.next()? != "home" {
            return None;
        }
        let room = parts.next().filter(|s| !s.is_empty())?;
        let name = parts.next().filter(|s| !s.is_empty())?;
        match (parts.next(), parts.next()) {
            (None, _) => Some(Place::State { room, name }),
            (Some("set"), None) => Some(Place::Command),
            _ => None,
        }
    }

    fn kind(
        &self,
        name: &str,
        state_topic: &str,
        has_temperature: bool,
        topics: &dyn TopicProbe,
    ) -> DeviceKind {
        let n = name.to_ascii_lowercase();
        if n == "temperature" || n == "temp" || has_temperature {
            DeviceKind::Temperature
        } else if n == "light" || n == "lamp" || topics.seen(&format!("{state_topic}/set")) {
            DeviceKind::Light
        } else {
            DeviceKind::Other
        }
    }

    fn light_route(&self, state_topic: &str, topics: &dyn TopicProbe) -> LightRoute {
        light::detect(state_topic, topics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_of_the_layout() {
        let h = HomeLayout;
        assert_eq!(
            h.recognise("home/hall/lamp"),
            Some(Place::State {
                room: "hall",
                name: "lamp"
            })
        );
        assert_eq!(h.recognise("home/hall/lamp/set"), Some(Place::Command));
        for other in [
            "home",
            "home/hall",
            "home//lamp",
            "home/hall/",
            "home/hall/lamp/x",
            "home/hall/lamp/set/x",
            "tele/tasmota_1/SENSOR",
        ] {
            assert_eq!(h.recognise(other), None, "{other}");
        }
    }
}
