//! Podman 5's `Examples:` of each command's help: the `Example` fields of
//! the cobra commands at containers/podman main (cmd/podman/...), by
//! command path, for the commands we have. Printed indented by two
//! spaces, as Podman's usage template's `indentExamples` does.

/// (command path, examples), sorted by path.
const EXAMPLES: &[(&str, &str)] = &[
    ("attach", "podman attach ctrID\npodman attach 1234\npodman attach --no-stdin foobar"),
    ("commit", "podman commit -q --message \"committing container to image\" reverent_golick image-committed\npodman commit -q --author \"firstName lastName\" reverent_golick image-committed\npodman commit -q --pause=false containerID image-committed\npodman commit containerID"),
    ("container attach", "podman container attach ctrID\npodman container attach 1234\npodman container attach --no-stdin foobar"),
    ("container cleanup", "podman container cleanup ctrID1 ctrID2 ctrID3\npodman container cleanup --all"),
    ("container commit", "podman container commit -q --message \"committing container to image\" reverent_golick image-committed\npodman container commit -q --author \"firstName lastName\" reverent_golick image-committed\npodman container commit -q --pause=false containerID image-committed\npodman container commit containerID"),
    ("container cp", "podman container cp [CONTAINER:]SRC_PATH [CONTAINER:]DEST_PATH"),
    ("container create", "podman container create alpine ls\npodman container create --annotation HELLO=WORLD alpine ls\npodman container create -t -i --name myctr alpine ls"),
    ("container diff", "podman container diff myCtr\npodman container diff -l --format json myCtr"),
    ("container exec", "podman container exec -it ctrID ls\npodman container exec -it -w /tmp myCtr pwd\npodman container exec --user root ctrID ls"),
    ("container exists", "podman container exists --external containerID\npodman container exists myctr || podman run --name myctr [etc...]"),
    ("container export", "podman container export ctrID > myCtr.tar\npodman container export --output=\"myCtr.tar\" ctrID"),
    ("container init", "podman container init 3c45ef19d893\npodman container init test1"),
    ("container inspect", "podman container inspect myCtr\npodman container inspect -l --format '{{.Id}} {{.Config.Labels}}'"),
    ("container kill", "podman container kill mywebserver\npodman container kill 860a4b23\npodman container kill --signal TERM ctrID"),
    ("container logs", "podman container logs ctrID\npodman container logs --names ctrID1 ctrID2\npodman container logs --color --names ctrID1 ctrID2\npodman container logs --tail 2 mywebserver\npodman container logs --follow=true --since 10m ctrID\npodman container logs mywebserver mydbserver"),
    ("container pause", "podman container pause mywebserver\npodman container pause 860a4b23\npodman container pause --all"),
    ("container port", "podman container port --all\npodman container port CTRID 80"),
    ("container prune", "podman container prune"),
    ("container rename", "podman container rename containerA newName"),
    ("container restart", "podman container restart ctrID\npodman container restart ctrID1 ctrID2"),
    ("container rm", "podman container rm ctrID\npodman container rm mywebserver myflaskserver 860a4b23\npodman container rm --force --all\npodman container rm -f c684f0d469f2"),
    ("container run", "podman container run imageID ls -alF /etc\npodman container run --network=host imageID dnf -y install java\npodman container run --volume /var/hostdir:/var/ctrdir -i -t fedora /bin/bash"),
    ("container start", "podman container start 860a4b231279 5421ab43b45\npodman container start --interactive --attach imageID"),
    ("container stats", "podman container stats --all --no-stream\npodman container stats ctrID\npodman container stats --no-stream --format \"table {{.ID}} {{.Name}} {{.MemUsage}}\" ctrID"),
    ("container stop", "podman container stop ctrID\npodman container stop --time 2 mywebserver 6e534f14da9d"),
    ("container top", "podman container top ctrID\npodman container top ctrID pid seccomp args %C\npodman container top ctrID -eo user,pid,comm"),
    ("container unpause", "podman container unpause ctrID\npodman container unpause --all"),
    ("container update", "podman container update --cpus=5 foobar_container"),
    ("container wait", "podman container wait --interval 5s ctrID\npodman container wait ctrID1 ctrID2"),
    ("cp", "podman cp [options] [CONTAINER:]SRC_PATH [CONTAINER:]DEST_PATH"),
    ("create", "podman create alpine ls\npodman create --annotation HELLO=WORLD alpine ls\npodman create -t -i --name myctr alpine ls"),
    ("diff", "podman diff imageID\npodman diff ctrID\npodman diff --format json redis:alpine"),
    ("events", "podman events\npodman events --filter event=create\npodman events --format {{.Image}}\npodman events --since 1h30s"),
    ("exec", "podman exec -it ctrID ls\npodman exec -it -w /tmp myCtr pwd\npodman exec --user root ctrID ls"),
    ("export", "podman export ctrID > myCtr.tar\npodman export --output=\"myCtr.tar\" ctrID"),
    ("healthcheck run", "podman healthcheck run mywebapp"),
    ("history", "podman history quay.io/fedora/fedora"),
    ("image diff", "podman image diff myImage\npodman image diff --format json redis:alpine"),
    ("image exists", "podman image exists ID\npodman image exists IMAGE && podman pull IMAGE"),
    ("image history", "podman image history quay.io/fedora/fedora"),
    ("image import", "podman image import https://example.com/ctr.tar url-image\ncat ctr.tar | podman -q image import --message \"importing the ctr.tar tarball\" - image-imported\ncat ctr.tar | podman image import -"),
    ("image inspect", "podman image inspect alpine\npodman image inspect --format \"imageId: {{.Id}} size: {{.Size}}\" alpine\npodman image inspect --format \"image: {{.ImageName}} driver: {{.Driver}}\" myctr"),
    ("image prune", "podman image prune"),
    ("image pull", "podman image pull imageName\npodman image pull fedora:latest"),
    ("image push", "podman image push imageID docker://registry.example.com/repository:tag\npodman image push imageID oci-archive:/path/to/layout:image:tag"),
    ("image rm", "podman image rm imageID\npodman image rm --force alpine\npodman image rm c4dfb1609ee2 93fd78260bd1 c0ed59d05ff7"),
    ("image save", "podman image save --quiet -o myimage.tar imageID\npodman image save --format docker-dir -o ubuntu-dir ubuntu\npodman image save > alpine-all.tar alpine:latest"),
    ("image tag", "podman image tag 0e3bbc2 fedora:latest\npodman image tag imageID:latest myNewImage:newTag\npodman image tag httpd myregistryhost:5000/fedora/httpd:v2"),
    ("image untag", "podman image untag 0e3bbc2\npodman image untag imageID:latest otherImageName:latest\npodman image untag httpd myregistryhost:5000/fedora/httpd:v2"),
    ("images", "podman images --format json\npodman images --sort repository --format \"table {{.ID}} {{.Repository}} {{.Tag}}\"\npodman images --filter dangling=true"),
    ("import", "podman import https://example.com/ctr.tar url-image\ncat ctr.tar | podman -q import --message \"importing the ctr.tar tarball\" - image-imported\ncat ctr.tar | podman import -"),
    ("info", "podman info"),
    ("init", "podman init 3c45ef19d893\npodman init test1"),
    ("inspect", "podman inspect fedora\npodman inspect --type image fedora\npodman inspect --type artifact quay.io/myimage/myartifact:latest\npodman inspect CtrID ImgID\npodman inspect --format \"imageId: {{.Id}} size: {{.Size}}\" fedora"),
    ("kill", "podman kill mywebserver\npodman kill 860a4b23\npodman kill --signal TERM ctrID"),
    ("login", "podman login quay.io\npodman login --username ... --password ... quay.io\npodman login --authfile dir/auth.json quay.io"),
    ("logout", "podman logout quay.io\npodman logout --authfile dir/auth.json quay.io\npodman logout --all"),
    ("logs", "podman logs ctrID\npodman logs --names ctrID1 ctrID2\npodman logs --tail 2 mywebserver\npodman logs --follow=true --since 10m ctrID\npodman logs mywebserver mydbserver"),
    ("network connect", "podman network connect web secondary"),
    ("network create", "podman network create podman1"),
    ("network disconnect", "podman network disconnect web secondary"),
    ("network exists", "podman network exists net1"),
    ("network inspect", "podman network inspect podman"),
    ("network prune", "podman network prune"),
    ("network rm", "podman network rm podman"),
    ("pause", "podman pause mywebserver\npodman pause 860a4b23\npodman pause --all"),
    ("pod create", "podman pod create\npodman pod create --label foo=bar mypod"),
    ("pod exists", "podman pod exists podID\npodman pod exists mypod || podman pod create --name mypod"),
    ("pod inspect", "podman pod inspect podID"),
    ("pod kill", "podman pod kill podID\npodman pod kill --signal TERM mywebserver"),
    ("pod logs", "podman pod logs podID\npodman pod logs -c ctrname podName\npodman pod logs --tail 2 mywebserver\npodman pod logs --follow=true --since 10m podID\npodman pod logs mywebserver"),
    ("pod pause", "podman pod pause podID1 podID2\npodman pod pause --all"),
    ("pod prune", "podman pod prune"),
    ("pod restart", "podman pod restart podID1 podID2\npodman pod restart --all"),
    ("pod rm", "podman pod rm mywebserverpod\npodman pod rm -f 860a4b23\npodman pod rm -f -a"),
    ("pod start", "podman pod start podID\npodman pod start --all"),
    ("pod stats", "podman pod stats\npodman pod stats a69b23034235 named-pod\npodman pod stats --all"),
    ("pod stop", "podman pod stop mywebserverpod\npodman pod stop --time 0 490eb 3557fb"),
    ("pod top", "podman pod top podID\npodman pod top podID pid seccomp args %C\npodman pod top podID -eo user,pid,comm"),
    ("pod unpause", "podman pod unpause podID1 podID2\npodman pod unpause --all"),
    ("port", "podman port --all\npodman port ctrID 80/tcp"),
    ("ps", "podman ps -a\npodman ps -a --format \"{{.ID}}  {{.Image}}  {{.Labels}}  {{.Mounts}}\"\npodman ps --size --sort names"),
    ("pull", "podman pull imageName\npodman pull fedora:latest"),
    ("push", "podman push imageID docker://registry.example.com/repository:tag\npodman push imageID oci-archive:/path/to/layout:image:tag"),
    ("rename", "podman rename containerA newName"),
    ("restart", "podman restart ctrID\npodman restart ctrID1 ctrID2"),
    ("rm", "podman rm ctrID\npodman rm mywebserver myflaskserver 860a4b23\npodman rm --force --all\npodman rm -f c684f0d469f2"),
    ("rmi", "podman rmi imageID\npodman rmi --force alpine\npodman rmi c4dfb1609ee2 93fd78260bd1 c0ed59d05ff7"),
    ("run", "podman run imageID ls -alF /etc\npodman run --network=host imageID dnf -y install java\npodman run --volume /var/hostdir:/var/ctrdir -i -t fedora /bin/bash"),
    ("save", "podman save --quiet -o myimage.tar imageID\npodman save --format docker-dir -o ubuntu-dir ubuntu\npodman save > alpine-all.tar alpine:latest"),
    ("start", "podman start 860a4b231279 5421ab43b45\npodman start --interactive --attach imageID"),
    ("stats", "podman stats --all --no-stream\npodman stats ctrID\npodman stats --no-stream --format \"table {{.ID}} {{.Name}} {{.MemUsage}}\" ctrID"),
    ("stop", "podman stop ctrID\npodman stop --time 2 mywebserver 6e534f14da9d"),
    ("system events", "podman system events"),
    ("system prune", "podman system prune"),
    ("tag", "podman tag 0e3bbc2 fedora:latest\npodman tag imageID:latest myNewImage:newTag\npodman tag httpd myregistryhost:5000/fedora/httpd:v2"),
    ("top", "podman top ctrID\npodman top ctrID pid seccomp args %C\npodman top ctrID -eo user,pid,comm"),
    ("unpause", "podman unpause ctrID\npodman unpause --all"),
    ("untag", "podman untag 0e3bbc2\npodman untag imageID:latest otherImageName:latest\npodman untag httpd myregistryhost:5000/fedora/httpd:v2"),
    ("update", "podman update --cpus=5 foobar_container"),
    ("volume create", "podman volume create myvol\npodman volume create\npodman volume create --label foo=bar myvol\npodman volume create --uid 4321 --gid 1234 myvol"),
    ("volume exists", "podman volume exists myvol"),
    ("volume import", "podman volume import my_vol /home/user/import.tar\ncat ctr.tar | podman volume import my_vol -"),
    ("volume inspect", "podman volume inspect myvol\npodman volume inspect --all\npodman volume inspect --format \"{{.Driver}} {{.Scope}}\" myvol"),
    ("volume mount", "podman volume mount myvol"),
    ("volume rm", "podman volume rm myvol1 myvol2\npodman volume rm --all\npodman volume rm --force myvol"),
    ("volume unmount", "podman volume unmount myvol"),
    ("wait", "podman wait --interval 5s ctrID\npodman wait ctrID1 ctrID2"),
];

/// The examples of the command at `path` (`["container", "run"]`).
pub fn of(path: &[String]) -> Option<&'static str> {
    let key = path.join(" ");
    EXAMPLES
        .binary_search_by(|(p, _)| p.cmp(&key.as_str()))
        .ok()
        .map(|i| EXAMPLES[i].1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorted_for_lookup() {
        assert!(super::EXAMPLES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(super::of(&["run".to_string()])
            .unwrap()
            .starts_with("podman run "));
    }
}
