var Z,$,Te,mt,R,we,Pe,Ee,ae,G,q,Me,_e,le,ce,$t,Q={},X=[],gt=/acit|ex(?:s|g|n|p|$)|rph|grid|ows|mnc|ntw|ine[ch]|zoo|^ord|itera/i,ee=Array.isArray;function E(e,t){for(var n in t)e[n]=t[n];return e}function ue(e){e&&e.parentNode&&e.parentNode.removeChild(e)}function te(e,t,n){var r,i,o,l={};for(o in t)o=="key"?r=t[o]:o=="ref"?i=t[o]:l[o]=t[o];if(arguments.length>2&&(l.children=arguments.length>3?Z.call(arguments,2):n),typeof e=="function"&&e.defaultProps!=null)for(o in e.defaultProps)l[o]===void 0&&(l[o]=e.defaultProps[o]);return J(e,l,r,i,null)}function J(e,t,n,r,i){var o={type:e,props:t,key:n,ref:r,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:i??++Te,__i:-1,__u:0};return i==null&&$.vnode!=null&&$.vnode(o),o}function ne(e){return e.children}function B(e,t){this.props=e,this.context=t}function I(e,t){if(t==null)return e.__?I(e.__,e.__i+1):null;for(var n;t<e.__k.length;t++)if((n=e.__k[t])!=null&&n.__e!=null)return n.__e;return typeof e.type=="function"?I(e):null}function vt(e){if(e.__P&&e.__d){var t=e.__v,n=t.__e,r=[],i=[],o=E({},t);o.__v=t.__v+1,$.vnode&&$.vnode(o),de(e.__P,o,t,e.__n,e.__P.namespaceURI,32&t.__u?[n]:null,r,n??I(t),!!(32&t.__u),i),o.__v=t.__v,o.__.__k[o.__i]=o,Ne(r,o,i),t.__e=t.__=null,o.__e!=n&&Re(o)}}function Re(e){if((e=e.__)!=null&&e.__c!=null)return e.__e=e.__c.base=null,e.__k.some(function(t){if(t!=null&&t.__e!=null)return e.__e=e.__c.base=t.__e}),Re(e)}function xe(e){(!e.__d&&(e.__d=!0)&&R.push(e)&&!Y.__r++||we!=$.debounceRendering)&&((we=$.debounceRendering)||Pe)(Y)}function Y(){try{for(var e,t=1;R.length;)R.length>t&&R.sort(Ee),e=R.shift(),t=R.length,vt(e)}finally{R.length=Y.__r=0}}function De(e,t,n,r,i,o,l,_,u,c,a){var d,s,p,m,w,y,k=r&&r.__k||X,h=t.length;for(u=bt(n,t,k,u,h),d=0;d<h;d++)(p=n.__k[d])!=null&&(s=p.__i!=-1&&k[p.__i]||Q,p.__i=d,y=de(e,p,s,i,o,l,_,u,c,a),m=p.__e,p.ref&&s.ref!=p.ref&&(s.ref&&pe(s.ref,null,p),a.push(p.ref,p.__c||m,p)),w==null&&m!=null&&(w=m),4&p.__u?(u=Ie(p,u,e),s.__e&&(s.__e=null)):typeof p.type=="function"&&y!==void 0?u=y:m&&(u=m.nextSibling),p.__u&=-7);return n.__e=w,u}function bt(e,t,n,r,i){var o,l,_,u,c,a=n.length,d=a,s=0;for(e.__k=new Array(i),o=0;o<i;o++)(l=t[o])!=null&&typeof l!="boolean"&&typeof l!="function"?(typeof l=="string"||typeof l=="number"||typeof l=="bigint"||l.constructor==String?l=e.__k[o]=J(null,l,null,null,null):ee(l)?l=e.__k[o]=J(ne,{children:l},null,null,null):l.constructor===void 0&&l.__b>0?l=e.__k[o]=J(l.type,l.props,l.key,l.ref?l.ref:null,l.__v):e.__k[o]=l,u=o+s,l.__=e,l.__b=e.__b+1,_=null,(c=l.__i=yt(l,n,u,d))!=-1&&(d--,(_=n[c])&&(_.__u|=2)),_==null||_.__v==null?(c==-1&&(i>a?s--:i<a&&s++),typeof l.type!="function"&&(l.__u|=4)):c!=u&&(c==u-1?s--:c==u+1?s++:(c>u?s--:s++,l.__u|=4))):e.__k[o]=null;if(d)for(o=0;o<a;o++)(_=n[o])!=null&&(2&_.__u)==0&&(_.__e==r&&(r=I(_)),Le(_,_));return r}function Ie(e,t,n){var r,i;if(typeof e.type=="function"){for(r=e.__k,i=0;r&&i<r.length;i++)r[i]&&(r[i].__=e,t=Ie(r[i],t,n));return t}e.__e!=t&&(t&&e.type&&!t.parentNode&&(t=I(e)),t=n.insertBefore(e.__e,t||null));do t=t&&t.nextSibling;while(t!=null&&t.nodeType==8);return t}function yt(e,t,n,r){var i,o,l,_=e.key,u=e.type,c=t[n],a=c!=null&&(2&c.__u)==0;if(c===null&&_==null||a&&_==c.key&&u==c.type)return n;if(r>(a?1:0)){for(i=n-1,o=n+1;i>=0||o<t.length;)if((c=t[l=i>=0?i--:o++])!=null&&(2&c.__u)==0&&_==c.key&&u==c.type)return l}return-1}function Se(e,t,n){t[0]=="-"?e.setProperty(t,n??""):e[t]=n==null?"":typeof n!="number"||gt.test(t)?n:n+"px"}function K(e,t,n,r,i){var o,l;e:if(t=="style")if(typeof n=="string")e.style.cssText=n;else{if(typeof r=="string"&&(e.style.cssText=r=""),r)for(t in r)n&&t in n||Se(e.style,t,"");if(n)for(t in n)r&&n[t]==r[t]||Se(e.style,t,n[t])}else if(t[0]=="o"&&t[1]=="n")o=t!=(t=t.replace(Me,"$1")),l=t.toLowerCase(),t=l in e||t=="onFocusOut"||t=="onFocusIn"?l.slice(2):t.slice(2),e.l||(e.l={}),e.l[t+o]=n,n?r?n[q]=r[q]:(n[q]=_e,e.addEventListener(t,o?ce:le,o)):e.removeEventListener(t,o?ce:le,o);else{if(i=="http://www.w3.org/2000/svg")t=t.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(t!="width"&&t!="height"&&t!="href"&&t!="list"&&t!="form"&&t!="tabIndex"&&t!="download"&&t!="rowSpan"&&t!="colSpan"&&t!="role"&&t!="popover"&&t in e)try{e[t]=n??"";break e}catch{}typeof n=="function"||(n==null||n===!1&&t[4]!="-"?e.removeAttribute(t):e.setAttribute(t,t=="popover"&&n==1?"":n))}}function Ce(e){return function(t){if(this.l){var n=this.l[t.type+e];if(t[G]==null)t[G]=_e++;else if(t[G]<n[q])return;return n($.event?$.event(t):t)}}}function de(e,t,n,r,i,o,l,_,u,c){var a,d,s,p,m,w,y,k,h,T,O,D,A,ke,V,ie,P=t.type;if(t.constructor!==void 0)return null;128&n.__u&&(u=!!(32&n.__u),o=[_=t.__e=n.__e]),(a=$.__b)&&a(t);e:if(typeof P=="function"){d=l.length;try{if(h=t.props,T=P.prototype&&P.prototype.render,O=(a=P.contextType)&&r[a.__c],D=a?O?O.props.value:a.__:r,n.__c?k=(s=t.__c=n.__c).__=s.__E:(T?t.__c=s=new P(h,D):(t.__c=s=new B(h,D),s.constructor=P,s.render=wt),O&&O.sub(s),s.state||(s.state={}),s.__n=r,p=s.__d=!0,s.__h=[],s._sb=[]),T&&s.__s==null&&(s.__s=s.state),T&&P.getDerivedStateFromProps!=null&&(s.__s==s.state&&(s.__s=E({},s.__s)),E(s.__s,P.getDerivedStateFromProps(h,s.__s))),m=s.props,w=s.state,s.__v=t,p)T&&P.getDerivedStateFromProps==null&&s.componentWillMount!=null&&s.componentWillMount(),T&&s.componentDidMount!=null&&s.__h.push(s.componentDidMount);else{if(T&&P.getDerivedStateFromProps==null&&h!==m&&s.componentWillReceiveProps!=null&&s.componentWillReceiveProps(h,D),t.__v==n.__v||!s.__e&&s.shouldComponentUpdate!=null&&s.shouldComponentUpdate(h,s.__s,D)===!1){t.__v!=n.__v&&(s.props=h,s.state=s.__s,s.__d=!1),t.__e=n.__e,t.__k=n.__k,t.__k.some(function(N){N&&(N.__=t)}),X.push.apply(s.__h,s._sb),s._sb=[],s.__h.length&&l.push(s),_=I(n);break e}s.componentWillUpdate!=null&&s.componentWillUpdate(h,s.__s,D),T&&s.componentDidUpdate!=null&&s.__h.push(function(){s.componentDidUpdate(m,w,y)})}if(s.context=D,s.props=h,s.__P=e,s.__e=!1,A=$.__r,ke=0,T)s.state=s.__s,s.__d=!1,A&&A(t),a=s.render(s.props,s.state,s.context),X.push.apply(s.__h,s._sb),s._sb=[];else do s.__d=!1,A&&A(t),a=s.render(s.props,s.state,s.context),s.state=s.__s;while(s.__d&&++ke<25);s.state=s.__s,s.getChildContext!=null&&(r=E(E({},r),s.getChildContext())),T&&!p&&s.getSnapshotBeforeUpdate!=null&&(y=s.getSnapshotBeforeUpdate(m,w)),V=a!=null&&a.type===ne&&a.key==null?Ue(a.props.children):a,_=De(e,ee(V)?V:[V],t,n,r,i,o,l,_,u,c),s.base=t.__e,t.__u&=-161,s.__h.length&&l.push(s),k&&(s.__E=s.__=null)}catch(N){if(l.length=d,t.__v=null,u||o!=null){if(N.then){for(t.__u|=u?160:128;_&&_.nodeType==8&&_.nextSibling;)_=_.nextSibling;o!=null&&(o[o.indexOf(_)]=null),t.__e=_}else if(o!=null)for(ie=o.length;ie--;)ue(o[ie])}else t.__e=n.__e;t.__k==null&&(t.__k=n.__k||[]),N.then||Fe(t),$.__e(N,t,n)}}else o==null&&t.__v==n.__v?(t.__k=n.__k,t.__e=n.__e):_=t.__e=kt(n.__e,t,n,r,i,o,l,u,c);return(a=$.diffed)&&a(t),128&t.__u?void 0:_}function Fe(e){e&&(e.__c&&(e.__c.__e=!0),e.__k&&e.__k.some(Fe))}function Ne(e,t,n){for(var r=0;r<n.length;r++)pe(n[r],n[++r],n[++r]);$.__c&&$.__c(t,e),e.some(function(i){try{e=i.__h,i.__h=[],e.some(function(o){o.call(i)})}catch(o){$.__e(o,i.__v)}})}function Ue(e){return typeof e!="object"||e==null||e.__b>0?e:ee(e)?e.map(Ue):e.constructor!==void 0?null:E({},e)}function kt(e,t,n,r,i,o,l,_,u){var c,a,d,s,p,m,w,y=n.props||Q,k=t.props,h=t.type;if(h=="svg"?i="http://www.w3.org/2000/svg":h=="math"?i="http://www.w3.org/1998/Math/MathML":i||(i="http://www.w3.org/1999/xhtml"),o!=null){for(c=0;c<o.length;c++)if((p=o[c])&&"setAttribute"in p==!!h&&(h?p.localName==h:p.nodeType==3)){e=p,o[c]=null;break}}if(e==null){if(h==null)return document.createTextNode(k);e=document.createElementNS(i,h,k.is&&k),_&&($.__m&&$.__m(t,o),_=!1),o=null}if(h==null)y===k||_&&e.data==k||(e.data=k);else{if(o=h=="textarea"&&k.defaultValue!=null?null:o&&Z.call(e.childNodes),!_&&o!=null)for(y={},c=0;c<e.attributes.length;c++)y[(p=e.attributes[c]).name]=p.value;for(c in y)p=y[c],c=="dangerouslySetInnerHTML"?d=p:c=="children"||c in k||c=="value"&&"defaultValue"in k||c=="checked"&&"defaultChecked"in k||K(e,c,null,p,i);for(c in k)p=k[c],c=="children"?s=p:c=="dangerouslySetInnerHTML"?a=p:c=="value"?m=p:c=="checked"?w=p:_&&typeof p!="function"||y[c]===p||K(e,c,p,y[c],i);if(a)_||d&&(a.__html==d.__html||a.__html==e.innerHTML)||(e.innerHTML=a.__html),t.__k=[];else if(d&&(e.innerHTML=""),De(t.type=="template"?e.content:e,ee(s)?s:[s],t,n,r,h=="foreignObject"?"http://www.w3.org/1999/xhtml":i,o,l,o?o[0]:n.__k&&I(n,0),_,u),o!=null)for(c=o.length;c--;)ue(o[c]);_&&h!="textarea"||(c="value",h=="progress"&&m==null?e.removeAttribute("value"):m!=null&&(m!==e[c]||h=="progress"&&!m||h=="option"&&m!=y[c])&&K(e,c,m,y[c],i),c="checked",w!=null&&w!=e[c]&&K(e,c,w,y[c],i))}return e}function pe(e,t,n){try{if(typeof e=="function"){var r=typeof e.__u=="function";r&&e.__u(),r&&t==null||(e.__u=e(t))}else e.current=t}catch(i){$.__e(i,n)}}function Le(e,t,n){var r,i;if($.unmount&&$.unmount(e),(r=e.ref)&&(r.current&&r.current!=e.__e||pe(r,null,t)),(r=e.__c)!=null){if(r.componentWillUnmount)try{r.componentWillUnmount()}catch(o){$.__e(o,t)}r.base=r.__P=r.__n=null}if(r=e.__k)for(i=0;i<r.length;i++)r[i]&&Le(r[i],t,n||typeof e.type!="function");n||ue(e.__e),e.__c=e.__=e.__e=void 0}function wt(e,t,n){return this.constructor(e,n)}function fe(e,t,n){var r,i,o,l;t==document&&(t=document.documentElement),$.__&&$.__(e,t),i=(r=typeof n=="function")?null:n&&n.__k||t.__k,o=[],l=[],de(t,e=(!r&&n||t).__k=te(ne,null,[e]),i||Q,Q,t.namespaceURI,!r&&n?[n]:i?null:t.firstChild?Z.call(t.childNodes):null,o,!r&&n?n:i?i.__e:t.firstChild,r,l),Ne(o,e,l),e.props.children=null}Z=X.slice,$={__e:function(e,t,n,r){for(var i,o,l;t=t.__;)if((i=t.__c)&&!i.__)try{if((o=i.constructor)&&o.getDerivedStateFromError!=null&&(i.setState(o.getDerivedStateFromError(e)),l=i.__d),i.componentDidCatch!=null&&(i.componentDidCatch(e,r||{}),l=i.__d),l)return i.__E=i}catch(_){e=_}throw e}},Te=0,mt=function(e){return e!=null&&e.constructor===void 0},B.prototype.setState=function(e,t){var n;n=this.__s!=null&&this.__s!=this.state?this.__s:this.__s=E({},this.state),typeof e=="function"&&(e=e(E({},n),this.props)),e&&E(n,e),e!=null&&this.__v&&(t&&this._sb.push(t),xe(this))},B.prototype.forceUpdate=function(e){this.__v&&(this.__e=!0,e&&this.__h.push(e),xe(this))},B.prototype.render=ne,R=[],Pe=typeof Promise=="function"?Promise.prototype.then.bind(Promise.resolve()):setTimeout,Ee=function(e,t){return e.__v.__b-t.__v.__b},Y.__r=0,ae=Math.random().toString(8),G="__d"+ae,q="__a"+ae,Me=/(PointerCapture)$|Capture$/i,_e=0,le=Ce(!1),ce=Ce(!0),$t=0;var W,v,he,He,j=0,Ve=[],b=$,Oe=b.__b,Ae=b.__r,qe=b.diffed,Be=b.__c,We=b.unmount,je=b.__;function $e(e,t){b.__h&&b.__h(v,e,j||t),j=0;var n=v.__H||(v.__H={__:[],__h:[]});return e>=n.__.length&&n.__.push({}),n.__[e]}function g(e){return j=1,xt(Qe,e)}function xt(e,t,n){var r=$e(W++,2);if(r.t=e,!r.__c&&(r.__=[n?n(t):Qe(void 0,t),function(_){var u=r.__N?r.__N[0]:r.__[0],c=r.t(u,_);u!==c&&(r.__N=[c,r.__[1]],r.__c.setState({}))}],r.__c=v,!v.__f)){var i=function(_,u,c){if(!r.__c.__H)return!0;var a=!1,d=r.__c.props!==_;if(r.__c.__H.__.some(function(p){if(p.__N){a=!0;var m=p.__[0];p.__=p.__N,p.__N=void 0,m!==p.__[0]&&(d=!0)}}),o){var s=o.call(this,_,u,c);return a?s||d:s}return!a||d};v.__f=!0;var o=v.shouldComponentUpdate,l=v.componentWillUpdate;v.componentWillUpdate=function(_,u,c){if(this.__e){var a=o;o=void 0,i(_,u,c),o=a}l&&l.call(this,_,u,c)},v.shouldComponentUpdate=i}return r.__N||r.__}function C(e,t){var n=$e(W++,3);!b.__s&&Je(n.__H,t)&&(n.__=e,n.u=t,v.__H.__h.push(n))}function U(e){return j=5,Ke(function(){return{current:e}},[])}function Ke(e,t){var n=$e(W++,7);return Je(n.__H,t)&&(n.__=e(),n.__H=t,n.__h=e),n.__}function Ge(e,t){return j=8,Ke(function(){return e},t)}function St(){for(var e;e=Ve.shift();){var t=e.__H;if(e.__P&&t)try{t.__h.some(oe),t.__h.some(me),t.__h=[]}catch(n){t.__h=[],b.__e(n,e.__v)}}}b.__b=function(e){v=null,Oe&&Oe(e)},b.__=function(e,t){e&&t.__k&&t.__k.__m&&(e.__m=t.__k.__m),je&&je(e,t)},b.__r=function(e){Ae&&Ae(e),W=0;var t=(v=e.__c).__H;t&&(he===v?(t.__h=[],v.__h=[],t.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})):(t.__h.some(oe),t.__h.some(me),t.__h=[],W=0)),he=v},b.diffed=function(e){qe&&qe(e);var t=e.__c;t&&t.__H&&(t.__H.__h.length&&(Ve.push(t)!==1&&He===b.requestAnimationFrame||((He=b.requestAnimationFrame)||Ct)(St)),t.__H.__.some(function(n){n.u&&(n.__H=n.u,n.u=void 0)})),he=v=null},b.__c=function(e,t){t.some(function(n){try{n.__h.some(oe),n.__h=n.__h.filter(function(r){return!r.__||me(r)})}catch(r){t.some(function(i){i.__h&&(i.__h=[])}),t=[],b.__e(r,n.__v)}}),Be&&Be(e,t)},b.unmount=function(e){We&&We(e);var t,n=e.__c;n&&n.__H&&(n.__H.__.some(function(r){try{oe(r)}catch(i){t=i}}),n.__H=void 0,t&&b.__e(t,n.__v))};var ze=typeof requestAnimationFrame=="function";function Ct(e){var t,n=function(){clearTimeout(r),ze&&cancelAnimationFrame(t),setTimeout(e)},r=setTimeout(n,35);ze&&(t=requestAnimationFrame(n))}function oe(e){var t=v,n=e.__c;typeof n=="function"&&(e.__c=void 0,n()),v=t}function me(e){var t=v;e.__c=e.__(),v=t}function Je(e,t){return!e||e.length!==t.length||t.some(function(n,r){return n!==e[r]})}function Qe(e,t){return typeof t=="function"?t(e):t}var Ye=function(e,t,n,r){var i;t[0]=0;for(var o=1;o<t.length;o++){var l=t[o++],_=t[o]?(t[0]|=l?1:2,n[t[o++]]):t[++o];l===3?r[0]=_:l===4?r[1]=Object.assign(r[1]||{},_):l===5?(r[1]=r[1]||{})[t[++o]]=_:l===6?r[1][t[++o]]+=_+"":l?(i=e.apply(_,Ye(e,_,n,["",null])),r.push(i),_[0]?t[0]|=2:(t[o-2]=0,t[o]=i)):r.push(_)}return r},Xe=new Map;function Ze(e){var t=Xe.get(this);return t||(t=new Map,Xe.set(this,t)),(t=Ye(this,t.get(e)||(t.set(e,t=(function(n){for(var r,i,o=1,l="",_="",u=[0],c=function(s){o===1&&(s||(l=l.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?u.push(0,s,l):o===3&&(s||l)?(u.push(3,s,l),o=2):o===2&&l==="..."&&s?u.push(4,s,0):o===2&&l&&!s?u.push(5,0,!0,l):o>=5&&((l||!s&&o===5)&&(u.push(o,0,l,i),o=6),s&&(u.push(o,s,0,i),o=6)),l=""},a=0;a<n.length;a++){a&&(o===1&&c(),c(a));for(var d=0;d<n[a].length;d++)r=n[a][d],o===1?r==="<"?(c(),u=[u],o=3):l+=r:o===4?l==="--"&&r===">"?(o=1,l=""):l=r+l[0]:_?r===_?_="":l+=r:r==='"'||r==="'"?_=r:r===">"?(c(),o=1):o&&(r==="="?(o=5,i=l,l=""):r==="/"&&(o<5||n[a][d+1]===">")?(c(),o===3&&(u=u[0]),o=u,(u=u[0]).push(2,0,o),o=0):r===" "||r==="	"||r===`
`||r==="\r"?(c(),o=2):l+=r),o===3&&l==="!--"&&(o=4,u=u[0])}return c(),u})(e)),t),arguments,[])).length>1?t:t[0]}var f=Ze.bind(te);var ge="kepler.token",M={get:()=>sessionStorage.getItem(ge),set:e=>sessionStorage.setItem(ge,e),clear:()=>sessionStorage.removeItem(ge)},z=class extends Error{constructor(t,n,r){super(r),this.status=t,this.code=n}},ve=()=>{};function et(e){ve=e}function Tt(e={}){let t=M.get();return t?{...e,Authorization:`Bearer ${t}`}:e}async function Pt(e){let t="http_"+e.status,n=e.statusText||`HTTP ${e.status}`;try{let i=await e.json();t=i.code??t,n=i.message??n}catch{}let r=new z(e.status,t,n);throw e.status===401&&ve(r),r}async function F(e,t={}){let n=await fetch(e,{...t,headers:Tt(t.headers)});return n.ok||await Pt(n),n}async function x(e,t={}){return(await F(e,t)).json()}function L(e){return e.split("/").map(encodeURIComponent).join("/")}var re=(e,t)=>"/api/files/"+L(e)+(t?"?version="+encodeURIComponent(t):"");function tt(e,t,n){return new Promise((r,i)=>{let o=new XMLHttpRequest;o.open("PUT",re(e));let l=M.get();l&&o.setRequestHeader("Authorization",`Bearer ${l}`),o.setRequestHeader("Content-Type","application/octet-stream"),o.upload.onprogress=_=>n(_.loaded,_.lengthComputable?_.total:t.size),o.onerror=()=>i(new z(0,"network","the upload failed: the connection was lost")),o.onload=()=>{let _=null;try{_=JSON.parse(o.responseText)}catch{}if(o.status>=200&&o.status<300){r(_);return}let u=new z(o.status,_?.code??"http_"+o.status,_?.message??o.statusText);o.status===401&&ve(u),i(u)},o.send(t)})}function nt(e,t){let n=new AbortController,r=1e3;return(async()=>{for(;!n.signal.aborted;){try{let o=await F("/api/events",{signal:n.signal});t("live"),r=1e3,await Et(o.body,e)}catch(o){if(n.signal.aborted||o.status===401)return}t("reconnecting"),await new Promise(o=>setTimeout(o,r)),r=Math.min(r*2,15e3)}})(),()=>n.abort()}async function Et(e,t){let n=e.pipeThrough(new TextDecoderStream).getReader(),r="";for(;;){let{value:i,done:o}=await n.read();if(o)return;r+=i;let l;for(;(l=r.indexOf(`

`))>=0;){let _=r.slice(0,l);r=r.slice(l+2);let u="message",c="";for(let a of _.split(`
`))a.startsWith("event: ")?u=a.slice(7):a.startsWith("data: ")&&(c+=a.slice(6));c&&t(u,JSON.parse(c).data)}}}function ot(e){let t={};for(let n of e.split(`
`)){if(!n||n.startsWith("#"))continue;let r=n.lastIndexOf(" "),i=n.indexOf("{"),o=i>0&&i<r?n.slice(0,i):n.slice(0,r);t[o]=(t[o]??0)+Number(n.slice(r+1))}return t}var rt=["B","KiB","MiB","GiB","TiB"];function S(e){if(e==null)return"\u2013";let t=e,n=0;for(;t>=1024&&n<rt.length-1;)t/=1024,n+=1;return`${n===0?t:t.toFixed(1)} ${rt[n]}`}function H(e){return e==null||!isFinite(e)?"\u2013":e<1?"<1 s":e<90?`${Math.round(e)} s`:e<5400?`${Math.round(e/60)} min`:`${(e/3600).toFixed(1)} h`}var st=e=>e.toLocaleTimeString([],{hour12:!1});function it(e){let t=Number(e.split(".")[0]);return isFinite(t)?new Date(t/1e3).toLocaleString([],{hour12:!1}):""}var Mt=1e3;function Rt(e,t){let n=new Set,r=[];for(let i of e){let o=i.path.slice(t.length),l=o.indexOf("/");l>=0?n.add(o.slice(0,l+1)):r.push(i)}return{folders:[...n],files:r}}var Dt=()=>f`
  <svg class="icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
    <path d="M1 3h5l2 2h7v8H1z" fill="currentColor" /></svg>`;function It({prefix:e}){let t=e.split("/").filter(Boolean);return f`
    <nav aria-label="Folder" class="crumbs">
      <a href="#/files/">All files</a>
      ${t.map((n,r)=>f` / <a href=${"#/files/"+L(t.slice(0,r+1).join("/"))+"/"}
        aria-current=${r===t.length-1?"location":void 0}>${n}</a>`)}
    </nav>`}function at({path:e,version:t,label:n,name:r}){let i=re(e,t),o=e.split("/").pop();return M.get()?f`<a href=${i} onClick=${async _=>{_.preventDefault();let u=await(await F(i)).blob(),c=URL.createObjectURL(u);Object.assign(document.createElement("a"),{href:c,download:o}).click(),setTimeout(()=>URL.revokeObjectURL(c),1e4)}} aria-label=${`${n} ${r}`}>${n}</a>`:f`<a href=${i} download=${o} aria-label=${`${n} ${r}`}>${n}</a>`}function Ft({path:e}){let[t,n]=g(null),[r,i]=g(null);return C(()=>{x("/api/versions/"+L(e)).then(n).catch(o=>i(o.message))},[e]),r?f`<p class="error" role="alert">${r}</p>`:t?f`
    <div class="scroll">
      <table class="versions" aria-label=${"Versions of "+e}>
        <thead><tr><th>Kind</th><th>Version token</th><th>Written</th><th>Origin</th><th>Size</th>
          <th>Content id</th><th><span class="sr">Read</span></th></tr></thead>
        <tbody>
          ${t.map(o=>f`
            <tr>
              <td>${o.isTombstone?"deleted":o.isWinner?"current":"conflict"}</td>
              <td><code>${o.version}</code></td>
              <td>${it(o.version)}</td>
              <td>${o.origin}</td>
              <td>${o.isTombstone?"\u2013":S(o.sizeBytes)}</td>
              <td><code title=${o.contentId}>${o.contentId.slice(0,12)}…</code></td>
              <td>${!o.isTombstone&&f`<${at} path=${e} version=${o.version}
                label="Read" name=${`version ${o.version}`} />`}</td>
            </tr>`)}
        </tbody>
      </table>
    </div>`:f`<p>Loading versions…</p>`}function Nt({file:e,name:t,onDeleted:n}){let[r,i]=g(!1),[o,l]=g(null),_=async()=>{if(confirm(`Delete ${e.path}?`))try{await F(re(e.path),{method:"DELETE"}),n()}catch(u){l(u.message)}};return f`
    <tr class="file">
      <td class="name">${t}</td>
      <td>${S(e.sizeBytes)}</td>
      <td class="wide"><code title=${e.version}>${e.version}</code></td>
      <td class="wide">${e.origin}</td>
      <td class="actions">
        <${at} path=${e.path} label="Download" name=${t} />
        <button type="button" aria-expanded=${r} aria-label=${"Versions of "+t}
          onClick=${()=>i(!r)}>Versions</button>
        <button type="button" class="danger" aria-label=${"Delete "+t} onClick=${_}>Delete</button>
      </td>
    </tr>
    ${o&&f`<tr><td colspan="5" class="error" role="alert">${o}</td></tr>`}
    ${r&&f`<tr><td colspan="5"><${Ft} path=${e.path} /></td></tr>`}`}function Ut({prefix:e,onUploaded:t}){let[n,r]=g([]),[i,o]=g(!1),l=U(null),_=(a,d)=>r(s=>s.map(p=>p.id===a?{...p,...d}:p)),u=async a=>{let d=[...a].map((s,p)=>({id:`${Date.now()}-${p}`,file:s,path:e+s.name,sent:0,total:s.size,state:"waiting"}));r(s=>[...d,...s]);for(let s of d){_(s.id,{state:"uploading"});try{await tt(s.path,s.file,(p,m)=>_(s.id,{sent:p,total:m})),_(s.id,{state:"done",sent:s.file.size}),t()}catch(p){_(s.id,{state:"failed",error:p.message})}}},c=a=>{a.preventDefault(),o(!1),a.dataTransfer?.files?.length&&u(a.dataTransfer.files)};return f`
    <section class=${"drop"+(i?" over":"")} aria-label="Upload"
      onDragOver=${a=>{a.preventDefault(),o(!0)}}
      onDragLeave=${()=>o(!1)} onDrop=${c}>
      <p>Drop files here to upload them to <code>/${e}</code>, or</p>
      <label class="button" for="upload-input">Choose files…</label>
      <input id="upload-input" ref=${l} type="file" multiple class="sr"
        onChange=${a=>{u(a.target.files),a.target.value=""}} />
      ${n.length>0&&f`
        <ul class="uploads" aria-label="Uploads">
          ${n.map(a=>f`
            <li class=${a.state}>
              <span class="name">${a.file.name}</span>
              <progress max=${a.total||1} value=${a.sent} aria-label=${"Upload of "+a.file.name}></progress>
              <span class="state">${a.state==="failed"?"failed: "+a.error:a.state==="done"?"done":`${S(a.sent)} / ${S(a.total)}`}</span>
            </li>`)}
        </ul>`}
    </section>`}function lt({prefix:e}){let[t,n]=g({folders:[],files:[],next:null}),[r,i]=g(null),[o,l]=g(!0),_=Ge(async(c=null)=>{l(!0);try{let a=`?limit=${Mt}`+(c?"&after="+encodeURIComponent(c):""),d=await x("/api/files/"+L(e)+a),s=Rt(d.files,e);n(p=>({folders:c?[...new Set([...p.folders,...s.folders])]:s.folders,files:c?[...p.files,...s.files]:s.files,next:d.next})),i(null)}catch(a){i(a.message)}finally{l(!1)}},[e]);C(()=>{_()},[_]);let u=!o&&t.folders.length===0&&t.files.length===0;return f`
    <h1>Files</h1>
    <${It} prefix=${e} />
    <${Ut} prefix=${e} onUploaded=${()=>_()} />
    <div class="toolbar">
      <button type="button" onClick=${()=>_()}>Refresh</button>
      <span role="status">${o?"Loading\u2026":`${t.folders.length} folders, ${t.files.length} files`}</span>
    </div>
    ${r&&f`<p class="error" role="alert">${r}</p>`}
    ${u&&f`<p>No files here yet.</p>`}
    <div class="scroll">
      <table class="files" aria-label="Files and folders">
        <thead><tr><th>Name</th><th>Size</th><th class="wide">Version</th><th class="wide">Origin</th>
          <th><span class="sr">Actions</span></th></tr></thead>
        <tbody>
          ${t.folders.map(c=>f`
            <tr class="folder"><td colspan="5">
              <a href=${"#/files/"+L(e+c)}><${Dt} />${c}</a></td></tr>`)}
          ${t.files.map(c=>f`<${Nt} key=${c.path} file=${c}
            name=${c.path.slice(e.length)} onDeleted=${()=>_()} />`)}
        </tbody>
      </table>
    </div>
    ${t.next&&f`<button type="button" onClick=${()=>_(t.next)}>Load more</button>`}`}var ct=["#2f6fdf","#d9480f","#2b8a3e","#ae3ec9","#e67700","#0c8599","#c2255c","#5c940d"],Lt=1e3,be=(e,t)=>ct[Math.max(0,e.indexOf(t))%ct.length];function Ht(e){let[t,n]=g(null),[r,i]=g(null),o=U(null);return C(()=>{let l=!1,_=async()=>{try{let[d,s,p,m,w]=await Promise.all([x("/api/members"),x("/api/ui/cluster"),x("/api/ring"),x("/api/replication"),x("/api/under-replicated?limit=256")]);l||(n({members:d,ui:s,ring:p,replication:m,under:w}),i(null))}catch(d){l||i(d.message)}},u=()=>{clearTimeout(o.current),o.current=setTimeout(_,100)},c=d=>{(d.startsWith("member.")||d.startsWith("ring.")||d.startsWith("replication."))&&u()};e.listeners.add(c),_();let a=setInterval(_,Lt);return()=>{l=!0,e.listeners.delete(c),clearInterval(a),clearTimeout(o.current)}},[e]),[t,r]}function Ot(e,t){let n=U({}),r=Date.now();for(let i of e)i.state==="alive"?delete n.current[i.id]:t[i.id]!==void 0&&(n.current[i.id]=Math.min(n.current[i.id]??r,r-t[i.id]*1e3));return i=>{if(i.state==="alive")return i.self?"this node":"answering probes";let o=n.current[i.id];return o===void 0?"\u2013":`${H((r-o)/1e3)} ago or more`}}function At({members:e,ui:t,nodes:n}){let r=Object.fromEntries(t.members.map(o=>[o.id,o.stateForSeconds])),i=Ot(e,r);return f`
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <div class="scroll">
        <table class="members" aria-label="Members">
          <thead><tr><th>Node</th><th>State</th><th>Incarnation</th><th>Last heard</th><th>In state for</th>
            <th class="wide">Gossip</th><th class="wide">Ring</th></tr></thead>
          <tbody>
            ${e.map(o=>f`
              <tr data-member=${o.id}>
                <td><span class="swatch" style=${"background:"+be(n,o.id)}></span>
                  ${o.id}${o.self?" (this node)":""}</td>
                <td><span class=${"badge "+o.state} data-state=${o.state}>${o.state}</span></td>
                <td>${o.incarnation}</td>
                <td>${i(o)}</td>
                <td>${r[o.id]===void 0?"\u2013":H(r[o.id])}</td>
                <td class="wide"><code>${o.gossip}</code></td>
                <td class="wide">${o.inRing?"owns data":"not in ring"}</td>
              </tr>`)}
          </tbody>
        </table>
      </div>
    </section>`}function qt({ui:e,ring:t,nodes:n}){let o=Math.max(1,t.replicationFactor),l=Math.min(26,80/o),_=(a,d)=>{let s=d/360*2*Math.PI-Math.PI/2;return[130+a*Math.cos(s),130+a*Math.sin(s)]},u=(a,d,s)=>{let[p,m]=_(a,d),[w,y]=_(a,s===d+360?s-.01:s);return`M ${p} ${m} A ${a} ${a} 0 ${s-d>180?1:0} 1 ${w} ${y}`},c=t.nodes.map(a=>`${a.id} owns ${(a.primaryShare*100).toFixed(1)} % as primary, ${(a.share*100).toFixed(1)} % of replicas`).join("; ");return f`
    <section aria-labelledby="ring-title" class="ring">
      <h2 id="ring-title">Ring</h2>
      <svg viewBox=${"0 0 260 260"} role="img" aria-label=${"Ring: "+(c||"empty")}>
        <circle cx=${130} cy=${130} r=${126} class="ring-outline" />
        ${e.ring.flatMap(a=>a.owners.map((d,s)=>f`
          <path d=${u(122-s*(l+3)-l/2,a.from,a.to)}
            stroke=${be(n,d)} stroke-width=${l} fill="none">
            <title>${`${d}: replica ${s+1} of ${a.from}\xB0\u2013${a.to}\xB0`}</title>
          </path>`))}
        <text x=${130} y=${130} text-anchor="middle" class="ring-label">
          ${`${t.nodes.length} node${t.nodes.length===1?"":"s"} \xB7 N=${t.replicationFactor}`}</text>
      </svg>
      <ul class="legend">
        ${t.nodes.map(a=>f`
          <li><span class="swatch" style=${"background:"+be(n,a.id)}></span>
            ${a.id}: ${(a.primaryShare*100).toFixed(1)} % primary, ${(a.share*100).toFixed(1)} % of copies</li>`)}
      </ul>
      <p class="hint">Outer band: primary owner; inner bands: further replicas (sampled at 1°).</p>
    </section>`}function Bt({under:e}){let t={};for(let r of e.chunks)t[r.copies]=(t[r.copies]??0)+1;let n=Object.keys(t).map(Number).sort((r,i)=>r-i);return f`
    <section aria-labelledby="copies-title">
      <h2 id="copies-title">Copies per chunk</h2>
      <p>${e.referencedChunks} chunks referenced by live files; target N = ${e.replicationTarget}.</p>
      ${e.total===0?f`<p class="ok">No chunk this node placed is waiting for a copy: all have their N.</p>`:f`
          <p>${e.total} chunks still need copies${e.truncated?" (first 256 shown)":""}:</p>
          <ul class="copies">
            ${n.map(r=>f`<li><strong>${t[r]}</strong>${` with ${r} of ${e.replicationTarget} copies`}</li>`)}
          </ul>`}
    </section>`}function Wt({replication:e}){let t=U(0),n=e.progress,r=e.queueDepth===0?0:n?.chunksLeft??e.underReplicated;t.current=r===0?0:Math.max(t.current,r);let i=t.current===0?1:1-r/t.current;return f`
    <section aria-labelledby="repair-title">
      <h2 id="repair-title">Replication and repair</h2>
      <dl class="facts">
        <dt>Queue</dt><dd>${e.queueDepth} entries (${S(e.queueBytes)})</dd>
        <dt>Under-replicated</dt><dd>${e.underReplicated} chunks</dd>
        <dt>Rate</dt><dd>${n?`${n.chunksPerSecond.toFixed(1)} chunks/s`:"\u2013"}</dd>
        <dt>ETA</dt><dd>${r===0?"done":n?H(n.etaMicroseconds/1e6):"\u2013"}</dd>
        <dt>Replicated</dt><dd>${e.chunksReplicated} (${e.replicationFailures} failed tries)</dd>
        <dt>Scrub</dt><dd>${`${e.scrub.verified} verified, ${e.scrub.found} bad, ${e.scrub.repaired} repaired`}</dd>
      </dl>
      <progress max="1" value=${i} aria-label="Repair progress"></progress>
      <span> ${r===0?"nothing left to copy":`${r} chunks left (${S(n?.bytesLeft)})`}</span>
    </section>`}function _t({events:e}){let[t,n]=Ht(e);if(!t)return f`<h1>Cluster</h1>${n?f`<p class="error" role="alert">${n}</p>`:f`<p>Loading…</p>`}`;let r=[...new Set([...t.members.map(i=>i.id),...t.ring.nodes.map(i=>i.id)])].sort();return f`
    <h1>Cluster</h1>
    ${n&&f`<p class="error" role="alert">${n}</p>`}
    <div class="grid">
      <${At} members=${t.members} ui=${t.ui} nodes=${r} />
      <${qt} ui=${t.ui} ring=${t.ring} nodes=${r} />
      <${Wt} replication=${t.replication} />
      <${Bt} under=${t.under} />
    </div>`}var ut=2e3,jt=60,dt=[{name:"kepler_http_requests_total",label:"HTTP requests/s",rate:!0},{name:"kepler_http_received_bytes_total",label:"Upload bytes/s",rate:!0,bytes:!0},{name:"kepler_http_sent_bytes_total",label:"Download bytes/s",rate:!0,bytes:!0},{name:"kepler_stream_sent_bytes_total",label:"Peer transfer out/s",rate:!0,bytes:!0},{name:"kepler_replication_queue_depth",label:"Replication queue"},{name:"kepler_loop_queue_depth",label:"Loop queue"}];function zt({values:e,label:t,format:n}){let o=Math.max(1,...e),l=160/Math.max(1,e.length-1),_=e.map((c,a)=>`${160-(e.length-1-a)*l},${34-c/o*32}`).join(" "),u=e.length?e[e.length-1]:null;return f`
    <figure class="spark">
      <svg viewBox=${"0 0 160 36"} role="img"
        aria-label=${`${t}: now ${u===null?"no data":n(u)}, peak ${n(o)}`}>
        <polyline points=${_} fill="none" stroke="currentColor" stroke-width="1.5" />
      </svg>
      <figcaption>${t}: <strong>${u===null?"\u2013":n(u)}</strong></figcaption>
    </figure>`}function Vt(){let[e,t]=g({});return C(()=>{let n=null,r=async()=>{try{let o=ot(await(await F("/metrics")).text()),l=performance.now();if(n){let _=(l-n.at)/1e3;t(u=>Object.fromEntries(dt.map(c=>{let a=c.rate?Math.max(0,((o[c.name]??0)-(n.totals[c.name]??0))/_):o[c.name]??0;return[c.name,[...u[c.name]??[],a].slice(-jt)]})))}n={at:l,totals:o}}catch{}};r();let i=setInterval(r,ut);return()=>clearInterval(i)},[]),e}function Kt(e){let[t,n]=g(e.list);return C(()=>{let r=()=>n(e.list);return e.listeners.add(r),()=>e.listeners.delete(r)},[e]),t}function Gt({status:e,disk:t}){let n=t?.quotaBytes;return f`
    <section aria-labelledby="node-title">
      <h2 id="node-title">${e.nodeId}</h2>
      <dl class="facts">
        <dt>State</dt><dd>${e.ready?"ready":"recovering"}, up ${H(e.uptimeSeconds)}</dd>
        <dt>Free disk</dt><dd>${S(e.freeBytes)}</dd>
        <dt>Disk quota</dt><dd>${n?f`${S(t.usedBytes)} of ${S(n)} used
          <progress max=${n} value=${t.usedBytes} aria-label="Disk quota used"></progress>`:"none (MAX_DISK_MB unset)"}</dd>
        <dt>Queue depth</dt><dd>${e.queueDepth}</dd>
        <dt>Chunks written</dt><dd>${e.chunksWritten}</dd>
        <dt>Members</dt><dd>${e.members} in ring, ${e.knownMembers} known (${e.membership})</dd>
        <dt>Replication</dt><dd>N = ${e.replicationTarget} (factor ${e.replicationFactorRequested})</dd>
        <dt>Chunk size</dt><dd>${S(e.chunkSizeBytes)}</dd>
        <dt>HTTP</dt><dd><code>${e.http}</code></dd>
        <dt>Gossip</dt><dd><code>${e.gossip}</code></dd>
        <dt>Transfer</dt><dd><code>${e.transfer}</code></dd>
        <dt>Data dir</dt><dd><code>${e.dataDir}</code></dd>
        <dt>Version</dt><dd>${e.version}</dd>
      </dl>
    </section>`}function pt({events:e}){let[t,n]=g(null),[r,i]=g(null),[o,l]=g(null),_=Vt(),u=Kt(e);return C(()=>{let c=()=>Promise.all([x("/api/status"),x("/api/ui/cluster")]).then(([d,s])=>{n(d),i(s.disk),l(null)}).catch(d=>l(d.message));c();let a=setInterval(c,ut);return()=>clearInterval(a)},[]),f`
    <h1>Node</h1>
    ${o&&f`<p class="error" role="alert">${o}</p>`}
    <div class="grid">
      ${t?f`<${Gt} status=${t} disk=${r} />`:f`<p>Loading…</p>`}
      <section aria-labelledby="metrics-title">
        <h2 id="metrics-title">Metrics (last 2 min)</h2>
        <div class="sparks">
          ${dt.map(c=>f`<${zt} values=${_[c.name]??[]} label=${c.label}
            format=${c.bytes?a=>S(Math.round(a)):a=>c.rate?a.toFixed(1):String(a)} />`)}
        </div>
      </section>
      <section aria-labelledby="events-title" class="events">
        <h2 id="events-title">Recent events</h2>
        ${u.length===0?f`<p>No events since this page opened.</p>`:f`
          <ol class="events" aria-label="Recent events, newest first">
            ${u.slice(0,50).map(c=>f`
              <li><time>${st(c.at)}</time> <strong>${c.kind}</strong>
                <code>${JSON.stringify(c.data)}</code></li>`)}
          </ol>`}
      </section>
    </div>`}var ye=[["files","Files"],["cluster","Cluster"],["node","Node"]];function ft(){let e=decodeURIComponent(location.hash.replace(/^#\/?/,"")),t=e.indexOf("/"),n=t<0?e:e.slice(0,t),r=t<0?"":e.slice(t+1);return ye.some(([i])=>i===n)?[n,r]:["files",""]}var Jt=200,se={list:[],listeners:new Set,state:"connecting",add(e,t){this.list=[{at:new Date,kind:e,data:t},...this.list].slice(0,Jt),this.listeners.forEach(n=>n(e,t))}};function Qt({error:e,onToken:t}){let[n,r]=g("");return f`
    <main class="login" id="main">
      <h1>KeplerFS</h1>
      <form onSubmit=${o=>{o.preventDefault(),n.trim()&&t(n.trim())}}>
        <p>This node's API needs a token (API_TOKENS). It is kept for this browser tab only.</p>
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="current-password" required
          value=${n} onInput=${o=>r(o.target.value)} />
        <button type="submit">Sign in</button>
        ${e&&f`<p class="error" role="alert">${e}</p>`}
      </form>
    </main>`}function Xt(){let[[e,t],n]=g(ft()),[r,i]=g(null),[o,l]=g(null),[_,u]=g("connecting");if(C(()=>{let a=()=>n(ft());return addEventListener("hashchange",a),et(d=>l(M.get()?d.message:"")),()=>removeEventListener("hashchange",a)},[]),C(()=>{if(o===null)return x("/api/status").then(i).catch(()=>{}),nt((a,d)=>se.add(a,d),a=>{se.state=a,u(a)})},[o]),C(()=>{let a=ye.find(([d])=>d===e)[1];document.title=`${a} \xB7 ${r?.nodeId??"KeplerFS"}`},[e,r]),o!==null)return f`<${Qt} error=${o} onToken=${a=>{M.set(a),l(null)}} />`;let c=()=>{M.clear(),l("")};return f`
    <a class="skip" href="#main" onClick=${a=>{a.preventDefault(),document.getElementById("main")?.focus()}}>Skip to content</a>
    <header>
      <span class="brand">KeplerFS <span class="node-id" title="this node">${r?.nodeId??""}</span></span>
      <nav aria-label="Pages">
        ${ye.map(([a,d])=>f`
          <a href=${"#/"+a} aria-current=${e===a?"page":void 0}>${d}</a>`)}
      </nav>
      <span class=${"live "+_} role="status" aria-label=${"events "+_}>${_}</span>
      ${M.get()&&f`<button type="button" class="link" onClick=${c}>Sign out</button>`}
      <a class="docs" href="/docs/">API</a>
    </header>
    <main id="main" tabindex="-1">
      ${e==="files"&&f`<${lt} prefix=${t} />`}
      ${e==="cluster"&&f`<${_t} events=${se} />`}
      ${e==="node"&&f`<${pt} events=${se} />`}
    </main>`}var ht=document.getElementById("app");ht.textContent="";fe(f`<${Xt} />`,ht);
